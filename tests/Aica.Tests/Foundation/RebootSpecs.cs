using Aica.Tests.Infra;

namespace Aica.Tests.Foundation;

/// <summary>End to end on a simulated server: real accounts in an overlay /etc, volatile /home, persistent /data.</summary>
[Trait("level", "sim")]
public sealed class RebootSpecs
{
    private static readonly string Setup = SimServer.InitWithMembers("alice:3001 bob:3002 carol:3003") + """
        echo hello > /home/alice/notes.txt
        """;

    /// <summary>What a member sees: ids, homes, data dirs, /etc files.</summary>
    private const string State = """
        for n in alice bob carol; do id $n; readlink /home/$n; stat -c '%n %u:%g %a' /data/users/$n; done
        getent group gpu-users
        stat -c '%n %U:%G %a' /etc/profile.d/aica.sh /etc/sudoers.d/aica /etc/cron.d/aica /etc/systemd/system/aica-recovery.service /etc/conda/.condarc
        cat /home/alice/notes.txt
        """;

    [Fact]
    public void Home_reset_then_recover_gives_back_the_identical_state()
    {
        Require.Root();
        using var sim = new SimServer();
        var first = sim.Boot(Reset.None, Setup + "\necho ---\n" + State);
        Assert.True(first.ExitCode == 0, first.ToString());
        var before = first.StdOut[first.StdOut.IndexOf("---", StringComparison.Ordinal)..];

        var after = sim.Boot(Reset.Home, "test -e /home/alice && exit 20; /data/bin/aica recover || exit 21\necho ---\n" + State);
        Assert.True(after.ExitCode == 0, after.ToString());
        Assert.Equal(before, after.StdOut[after.StdOut.IndexOf("---", StringComparison.Ordinal)..]);
    }

    [Fact]
    public void Full_reset_then_recover_restores_group_accounts_ids_homes_and_etc_and_doctor_passes()
    {
        Require.Root();
        using var sim = new SimServer();
        var first = sim.Boot(Reset.None, Setup + "\necho ---\n" + State);
        Assert.True(first.ExitCode == 0, first.ToString());
        var before = first.StdOut[first.StdOut.IndexOf("---", StringComparison.Ordinal)..];

        var after = sim.Boot(Reset.Full, """
            id alice 2>/dev/null && exit 30
            test -e /etc/profile.d/aica.sh && exit 31
            /data/bin/aica recover || exit 32
            /data/bin/aica doctor > /run/doctor.txt; echo "doctor=$?"
            grep -c '^\[FAIL\]' /run/doctor.txt
            echo ---
            """ + "\n" + State);
        Assert.True(after.ExitCode == 0, after.ToString());
        Assert.Contains("doctor=0", after.StdOut);
        Assert.Equal(before, after.StdOut[after.StdOut.IndexOf("---", StringComparison.Ordinal)..]);
    }

    [Fact]
    public void Links_to_etc_planted_in_place_of_a_data_dir_and_a_shared_cache_change_nothing_in_etc()
    {
        var r = SimServer.BootOnce(Reset.None, Setup + """

            rm -rf /data/users/bob /data/models/torch
            ln -s /etc/sudoers.d /data/users/bob
            ln -s /etc /data/models/torch
            snap() { find /etc -xdev -printf '%p %y %m %U:%G %s %T@ %C@\n' | sort; }
            snap > /run/etc.before
            /data/bin/aica recover > /run/recover.out; echo "rc=$?"
            snap | diff /run/etc.before - && echo etc-unchanged
            stat -c '%n %U:%G %a %F' /data/users/bob /data/models/torch
            grep -c 'removed planted link' /run/recover.out
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("rc=0", r.StdOut);
        Assert.Contains("etc-unchanged", r.StdOut);
        Assert.Contains("/data/users/bob bob:gpu-users 2750 directory", r.StdOut);
        Assert.Contains("/data/models/torch root:gpu-users 2775 directory", r.StdOut);
        Assert.Contains("\n2\n", r.StdOut);
    }

    [Fact]
    public void Recover_at_boot_with_the_disk_missing_refuses_and_writes_only_the_status_file()
    {
        var r = SimServer.BootOnce(Reset.Full, """
            umount /data
            /aica-under-test recover; echo "rc=$?"
            ls -A /data | wc -l
            grep -o '"status": "refused"' /run/aica/recovery.json
            """);
        Assert.Contains("rc=3", r.StdOut);
        Assert.Contains("\"status\": \"refused\"", r.StdOut);
        Assert.Contains("\n0\n", r.StdOut);
    }
}
