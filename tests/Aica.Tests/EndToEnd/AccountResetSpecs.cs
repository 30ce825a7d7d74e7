using Aica.Tests.Infra;

namespace Aica.Tests.EndToEnd;

/// <summary>
/// Issue 11 point 3 on a simulated server with real shadow-utils: what an admin did to the accounts (passwd, usermod -L,
/// chsh, usermod -aG video, a lab group with its gid) survives a full reset, and a stored file that cannot be
/// trusted is refused and never unlocks anyone.
/// </summary>
[Trait("level", "sim")]
public sealed class AccountResetSpecs
{
    /// <summary>Two registered users, then what admins do by hand: passwords, a lock, shell, GECOS, groups.</summary>
    private const string Setup = """
        $AICA init --gid 2500 -q >/dev/null || exit 10
        /data/bin/aica user add alice --uid 3001 -q >/dev/null || exit 11
        /data/bin/aica user add bob --uid 3002 -q >/dev/null || exit 12
        printf 'alice:Alice-pw-1\nbob:Bob-pw-1\n' | chpasswd || exit 13
        usermod -L bob || exit 14
        usermod -s /bin/zsh -c 'Alice Liddell,,,' alice || exit 15
        usermod -aG video alice || exit 16
        groupadd -g 5100 labadmins && usermod -aG labadmins alice && usermod -aG labadmins bob || exit 17
        """;

    /// <summary>The account state a member and PAM see (the hash itself: the same bytes must come back).</summary>
    private const string Accounts = """
        echo ---
        getent shadow alice bob | cut -d: -f1-2
        passwd -S alice | cut -d' ' -f1-2; passwd -S bob | cut -d' ' -f1-2
        getent passwd alice bob
        id alice; id bob
        getent group labadmins
        """;

    private static string After(string output) => output[output.IndexOf("---", StringComparison.Ordinal)..];

    [Fact]
    public void Passwords_locks_shell_GECOS_and_groups_survive_a_full_reset_and_doctor_warned_before_the_capture()
    {
        Require.Root();
        using var sim = new SimServer();
        var first = sim.Boot(Reset.None, Setup + """

            /data/bin/aica doctor -v > /run/doctor.txt; echo "doctor-before=$?"
            grep 'accounts.captured' /run/doctor.txt
            /data/bin/aica accounts capture || exit 20
            /data/bin/aica doctor -v > /run/doctor2.txt; echo "doctor-after=$?"
            grep 'accounts.captured' /run/doctor2.txt
            stat -c '%a %U' /data/admin/accounts /data/admin/accounts/accounts.state
            grep -c Alice-pw /data/admin/accounts/accounts.state /data/config/users.txt
            """ + "\n" + Accounts);
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("doctor-before=0", first.StdOut); // a warning, not a failure
        Assert.Matches(@"\[WARN\] accounts\.captured:\S+ +\d account change\(s\) not captured.*alice: password set, shell /bin/bash -> /bin/zsh, GECOS changed, groups \+labadmins,\+video", first.StdOut);
        Assert.Contains("labadmins (gid 5100): not captured yet", first.StdOut);
        Assert.Contains("doctor-after=0", first.StdOut);
        Assert.Matches(@"\[PASS\] accounts\.captured", first.StdOut);
        Assert.Contains("700 root\n600 root\n", first.StdOut);
        Assert.True(first.StdOut.Contains("accounts.state:0\n/data/config/users.txt:0\n"), first.StdOut); // hashes, never plain passwords
        Assert.Contains("bob L", first.StdOut);

        var second = sim.Boot(Reset.Full, """
            id alice >/dev/null 2>&1 && exit 30
            getent group labadmins && exit 31
            /data/bin/aica recover > /run/recover.txt; echo "recover=$?"
            /data/bin/aica doctor -v > /run/doctor.txt; echo "doctor=$?"
            grep 'accounts.captured' /run/doctor.txt
            # A member's doctor cannot read the stored state: never a failure, never a failed state computation.
            setpriv --reuid=3001 --regid=3001 --clear-groups /data/bin/aica doctor 2>&1 | grep -E 'accounts|state.check|cannot|rror' | sed 's/^/member: /'
            """ + "\n" + Accounts);
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.DoesNotContain("member: [FAIL]", second.StdOut); // a member's doctor leaves out what needs root: no failure
        Assert.DoesNotContain("state.check", second.StdOut);
        Assert.Contains("recover=0", second.StdOut);
        Assert.Contains("doctor=0", second.StdOut);
        Assert.Matches(@"\[PASS\] accounts\.captured", second.StdOut);
        Assert.Equal(After(first.StdOut), After(second.StdOut)); // same hashes, lock, shell, GECOS, groups and gids
        Assert.Contains("alice P", second.StdOut);
        Assert.Contains("bob L", second.StdOut);
        Assert.Contains("labadmins:x:5100:alice,bob", second.StdOut);
        Assert.Contains("(video)", second.StdOut);
        Assert.Contains("5100(labadmins)", second.StdOut);
    }

    /// <summary>Damage done to the stored file between the capture and the reset.</summary>
    public static TheoryData<string, string> Damage => new()
    {
        { "world-readable", "chmod 644 /data/admin/accounts/accounts.state" },
        { "not root's", "chown 4242 /data/admin/accounts/accounts.state" },
        { "truncated", "truncate -s -40 /data/admin/accounts/accounts.state" },
        // bob's lock bit edited away (no checksum fix): used, it would unlock bob
        { "corrupt", "sed -i 's/^user:bob:\\(.*\\):!\\$/user:bob:\\1:$/' /data/admin/accounts/accounts.state; grep -c '^user:bob:.*:\\$' /data/admin/accounts/accounts.state" },
    };

    [Theory]
    [MemberData(nameof(Damage))]
    public void A_stored_file_that_cannot_be_trusted_is_refused_and_reported_and_unlocks_nobody(string kind, string damage)
    {
        Require.Root();
        using var sim = new SimServer();
        var first = sim.Boot(Reset.None, Setup + "\n/data/bin/aica accounts capture -q || exit 20\n" + damage + "\necho damaged=$?\n");
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("damaged=0", first.StdOut);

        var second = sim.Boot(Reset.Full, """
            /data/bin/aica recover > /run/recover.txt 2>&1; echo "recover=$?"
            grep -c 'account state refused' /run/recover.txt
            passwd -S alice | cut -d' ' -f1-2; passwd -S bob | cut -d' ' -f1-2
            getent shadow alice bob | cut -d: -f2 | cut -c1
            /data/bin/aica doctor -v > /run/doctor.txt; echo "doctor=$?"
            grep '\[FAIL\] accounts.captured' /run/doctor.txt
            cp -p /data/admin/accounts/accounts.state /run/before
            /data/bin/aica accounts capture; echo "capture=$?"
            cmp /run/before /data/admin/accounts/accounts.state && echo store-untouched
            """);
        Assert.True(second.ExitCode == 0, kind + ": " + second);
        Assert.Contains("recover=1", second.StdOut); // users recovered, the refusal is a failure an admin must see
        Assert.Contains("alice L", second.StdOut);  // no hash restored: locked as useradd leaves it
        Assert.Contains("bob L", second.StdOut);
        Assert.Contains("!\n!\n", second.StdOut);
        Assert.Contains("doctor=1", second.StdOut);
        Assert.Contains("[FAIL] accounts.captured", second.StdOut);
        Assert.Contains("capture=1", second.StdOut); // the refused file is the admin's to look at: not overwritten
        Assert.Contains("store-untouched", second.StdOut);
    }

    [Fact]
    public void A_stored_group_the_image_no_longer_has_is_reported_and_the_rest_of_the_user_comes_back()
    {
        Require.Root();
        using var sim = new SimServer();
        var first = sim.Boot(Reset.None, Setup + """

            groupadd -r -g 990 labsys && usermod -aG labsys alice || exit 21
            /data/bin/aica accounts capture -q || exit 22
            grep -c '^user:alice:.*labsys' /data/admin/accounts/accounts.state
            """);
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("\n1\n", first.StdOut);

        var second = sim.Boot(Reset.Full, """
            /data/bin/aica recover > /run/recover.txt; echo "recover=$?"
            grep 'labsys' /run/recover.txt
            passwd -S alice | cut -d' ' -f1-2
            id -nG alice | tr ' ' '\n' | sort | paste -sd' '
            /data/bin/aica accounts capture -q; grep -c '^user:alice:.*labsys' /data/admin/accounts/accounts.state
            """);
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("recover=0", second.StdOut);
        Assert.Contains("alice: stored group labsys no longer exists: membership not restored", second.StdOut);
        Assert.Contains("alice P", second.StdOut);
        Assert.Contains("\nalice gpu-users labadmins video\n", second.StdOut); // private group first, sorted: no labsys
        Assert.EndsWith("\n1\n", second.StdOut); // still stored: the image may bring the group back
    }

    [Fact]
    public void A_capture_killed_before_its_rename_leaves_the_previous_file_whole_for_the_next_recover()
    {
        Require.Root();
        using var sim = new SimServer();
        var first = sim.Boot(Reset.None, Setup + """

            /data/bin/aica accounts capture -q || exit 20
            getent shadow alice | cut -d: -f2 > /data/old-hash
            echo 'alice:Alice-pw-2' | chpasswd
            cp /data/admin/accounts/accounts.state /data/old-state
            # The machine goes down in the middle of the capture: killed at the rename that would publish the new file.
            strace -f -o /dev/null -e trace=rename,renameat,renameat2 -e inject=rename,renameat,renameat2:signal=KILL /data/bin/aica accounts capture -q; echo "capture=$?"
            cmp /data/old-state /data/admin/accounts/accounts.state && echo old-file-whole
            ls -A /data/admin/accounts | grep -c '\.tmp$'
            """);
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("capture=137", first.StdOut);
        Assert.Contains("old-file-whole", first.StdOut);
        Assert.Contains("\n1\n", first.StdOut); // the killed writer's temp file

        var second = sim.Boot(Reset.Full, """
            /data/bin/aica recover >/dev/null; echo "recover=$?"
            getent shadow alice | cut -d: -f2 | cmp - /data/old-hash && echo previous-hash-restored
            echo 'alice:Alice-pw-3' | chpasswd
            /data/bin/aica accounts capture -q; ls -A /data/admin/accounts
            """);
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("recover=0", second.StdOut);
        Assert.Contains("previous-hash-restored", second.StdOut);
        Assert.EndsWith("accounts.state\n", second.StdOut); // the next write cleaned the dead writer's temp file
    }
}
