using Aica.Tests.Infra;

namespace Aica.Tests.Users;

/// <summary>End to end on the simulated server: users of both layouts added with aica, then reboots and migrations.</summary>
[Trait("level", "sim")]
public sealed class UserRebootSpecs
{
    private const string Setup = $"""
        $AICA init --gid 2500 -q || exit 10
        echo '{UserUnitSpecs.Ed25519}' > /run/k.pub
        /data/bin/aica user add alice --pubkey-file /run/k.pub -q || exit 11
        /data/bin/aica user add bob --layout hybrid --pubkey-file /run/k.pub -q || exit 12
        as() {"{"} u=$1; shift; env HOME=/home/$u setpriv --reuid=$u --regid=$u --init-groups "$@"; {"}"}
        # A conda env where each user's ~/.condarc says (its first envs_dirs entry), as conda would create it.
        for u in alice bob; do
          envs=$(as $u sh -c 'sed -n "/^envs_dirs:/,/^[a-z]/s/^ *- //p" "$HOME/.condarc"')
          echo "$u envs_dirs $envs"
          as $u mkdir -p "$envs/torch/bin" || exit 13
          as $u sh -c "echo '#!/bin/sh' > '$envs/torch/bin/python'" || exit 14
        done
        as bob sh -c 'echo "alias g=git" >> /home/bob/.bashrc; echo "[user] name = Bob" > /home/bob/.gitconfig; echo volatile > /home/bob/scratch' || exit 15
        """;

    /// <summary>What members see: ids, links, dotfiles and keys byte for byte, the env dir, the login umask.</summary>
    private const string State = """
        as() { u=$1; shift; env HOME=/home/$u setpriv --reuid=$u --regid=$u --init-groups "$@"; }
        for u in alice bob; do id $u; done
        readlink /home/alice /home/bob/.ssh /home/bob/.bashrc /home/bob/data
        sha256sum /home/alice/.profile /home/alice/.zprofile /home/alice/.condarc /home/alice/.ssh/authorized_keys \
          /home/bob/.bashrc /home/bob/.profile /home/bob/.gitconfig /home/bob/.condarc /home/bob/.ssh/authorized_keys
        stat -c '%n %U:%G %a' /home/bob /home/bob/.ssh/ /home/bob/.ssh/authorized_keys /home/alice/.ssh/authorized_keys /data/users/alice/conda/envs/torch/bin/python \
          /data/users/bob/conda/envs/torch/bin/python
        echo "alice login umask $(as alice bash -lc umask)"
        echo "bob login umask $(as bob bash -lc umask)"
        """;

    private static string After(RunResult r) => r.StdOut[r.StdOut.IndexOf("---", StringComparison.Ordinal)..];

    [Fact]
    public void Users_of_both_layouts_survive_a_home_reset_and_a_full_reset_byte_for_byte_with_the_same_ids()
    {
        Require.Root();
        using var sim = new SimServer();
        var first = sim.Boot(Reset.None, Setup + "\necho ---\n" + State);
        Assert.True(first.ExitCode == 0, first.ToString());
        var before = After(first);
        Assert.Contains("alice login umask 0002", before);
        Assert.Contains("bob login umask 0002", before);
        Assert.Contains("/data/users/bob/dotfiles/.ssh", before);
        Assert.Contains("alice envs_dirs /data/users/alice/conda/envs\nbob envs_dirs /data/users/bob/conda/envs\n", first.StdOut);
        Assert.Contains("/data/users/bob/conda/envs/torch/bin/python bob:", before);

        var home = sim.Boot(Reset.Home, """
            test -e /home/bob && exit 20
            /data/bin/aica recover || exit 21
            /data/bin/aica doctor -q || exit 23
            echo ---
            """ + "\n" + State);
        Assert.True(home.ExitCode == 0, home.ToString());
        Assert.Equal(before, After(home));

        var full = sim.Boot(Reset.Full, """
            id alice 2>/dev/null && exit 30
            /data/bin/aica recover || exit 31
            /data/bin/aica doctor -q || exit 32
            /data/bin/aica user list | grep -c '^\[OK\]'
            echo ---
            """ + "\n" + State);
        Assert.True(full.ExitCode == 0, full.ToString());
        Assert.Equal(before, After(full));
        Assert.Contains("\n2\n---", full.StdOut); // both users listed ok
    }

    [Fact]
    public void Migrate_both_ways_and_roll_back_on_the_server_across_a_reboot()
    {
        Require.Root();
        using var sim = new SimServer();
        // Every boot starts with an empty /home (the SSD): migrate in the boot that set the users up.
        var first = sim.Boot(Reset.None, Setup + "\necho ---\n" + State + """

            echo ===
            /data/bin/aica user migrate alice --to hybrid --yes > /dev/null || exit 40
            /data/bin/aica user migrate bob --to symlink --yes > /dev/null || exit 41
            readlink /home/alice/.profile /home/bob
            cat /home/bob/scratch
            /data/bin/aica recover -q > /dev/null || exit 42
            /data/bin/aica doctor -q > /dev/null || exit 43
            """);
        Assert.True(first.ExitCode == 0, first.ToString());
        var before = After(first)[..After(first).IndexOf("===", StringComparison.Ordinal)];
        Assert.Contains("===\n/data/users/alice/dotfiles/.profile\n/data/users/bob\nvolatile\n", first.StdOut);

        var rebooted = sim.Boot(Reset.Home, """
            /data/bin/aica recover > /dev/null || exit 50
            test -L /home/alice/.ssh || exit 51
            /data/bin/aica user migrate alice --rollback --yes > /dev/null || exit 53
            /data/bin/aica user migrate bob --rollback --yes > /dev/null || exit 54
            /data/bin/aica recover > /dev/null || exit 55
            cat /home/bob/scratch || exit 56
            echo ---
            """ + "\n" + State + "\necho ===");
        Assert.True(rebooted.ExitCode == 0, rebooted.ToString());
        // bob's SSD file came back with the rollback: the migration had moved it to /data, so it survived the reset.
        Assert.Contains("volatile\n---", rebooted.StdOut);
        Assert.Equal(before, After(rebooted)[..After(rebooted).IndexOf("===", StringComparison.Ordinal)]);
    }

    [Fact]
    public void Login_shells_get_umask_and_conda_from_the_users_own_rc_for_bash_and_zsh_even_without_a_skel_profile()
    {
        // The generated profile.d file sets the umask too: it goes, so only the user's own login rc can set it.
        // A stand-in conda.sh marks the environment, so "conda sourced" is seen, not assumed.
        var r = SimServer.BootOnce(Reset.None, """
            $AICA init --gid 2500 -q || exit 10
            rm -f /etc/skel/.profile /etc/skel/.bash_profile /etc/skel/.bash_login /etc/skel/.zprofile /etc/profile.d/aica.sh
            mkdir -p /data/apps/miniconda3/etc/profile.d
            echo 'AICA_CONDA_SH=sourced; export AICA_CONDA_SH' > /data/apps/miniconda3/etc/profile.d/conda.sh
            /data/bin/aica user add carl -q || exit 11
            /data/bin/aica user add dana --layout hybrid --shell /bin/zsh -q || exit 12
            echo '# skel bash_profile' > /etc/skel/.bash_profile
            /data/bin/aica user add erin --layout hybrid -q || exit 13
            /data/bin/aica user add erin -q | grep -q 'no changes' || exit 14
            umask 022
            as() { u=$1; shift; env -u AICA_CONDA_SH HOME=/home/$u setpriv --reuid=$u --regid=$u --init-groups "$@"; }
            for u in carl dana erin; do
              echo "$u bash $(as $u bash -lc 'echo $(umask) ${AICA_CONDA_SH:-none}')"
              # zsh prints the umask with three digits (002): printed as bash does. make deps installs zsh.
              if command -v zsh > /dev/null; then echo "$u zsh $(as $u zsh -lc 'echo $(printf %04d $(umask)) ${AICA_CONDA_SH:-none}')"
              else echo "$u zsh $(as $u sh -c '. "$HOME/.zprofile"; echo $(umask) ${AICA_CONDA_SH:-none}')"; fi
            done
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        foreach (var u in new[] { "carl", "dana", "erin" })
        {
            Assert.Contains($"{u} bash 0002 sourced\n", r.StdOut);
            Assert.Matches($"{u} zsh 0?002 sourced\n", r.StdOut); // zsh prints a umask with three digits, bash with four
        }
    }

    [Fact]
    public void Links_into_etc_planted_before_add_recover_fix_or_migrate_change_nothing_outside_and_the_user_is_reported()
    {
        // The real attack targets (/etc/shadow, /etc/default, a new /etc/created) in the server's overlay /etc,
        // planted by the member. After each command: /etc unchanged (every entry, mode, owner, size, times, content).
        var r = SimServer.BootOnce(Reset.None, $$"""
            $AICA init --gid 2500 -q || exit 10
            A=/data/bin/aica
            echo '{{UserUnitSpecs.Ed25519}}' > /run/k.pub
            $A user add dave --layout hybrid -q || exit 11
            $A user add alice -q || exit 12
            as() { u=$1; shift; env HOME=/home/$u setpriv --reuid=$u --regid=$u --init-groups "$@"; }
            etc() { find /etc -printf '%p %y %m %U:%G %s %T@ %C@ %l\n' | sort; find /etc -type f -exec sha256sum {} + 2>/dev/null | sort; }
            etc > /run/etc.before
            check() { etc | cmp -s - /run/etc.before && echo "$1: etc unchanged" || { echo "$1: ETC CHANGED"; etc | diff /run/etc.before - | head; }; }

            # before add: dotfiles/ -> /etc/default, evil -> /etc/shadow, ~/.ssh -> /etc/default (hybrid), .ssh -> /etc/default (symlink)
            as dave sh -c 'rm -rf /data/users/dave/dotfiles && ln -s /etc/default /data/users/dave/dotfiles && ln -s /etc/shadow /data/users/dave/evil' || exit 20
            rm /home/dave/.ssh && ln -s /etc/default /home/dave/.ssh && chown -h dave:dave /home/dave/.ssh
            as alice sh -c 'rm -rf /data/users/alice/.ssh && ln -s /etc/default /data/users/alice/.ssh && ln -s /etc/shadow /data/users/alice/evil' || exit 21
            $A user add dave --pubkey-file /run/k.pub > /run/out 2>&1; echo "add dave exit $?"; grep -q 'dave tampered: /data/users/dave/evil -> /etc/shadow' /run/out && echo "add reports dave"
            $A user add alice --pubkey-file /run/k.pub > /run/out 2>&1; echo "add alice exit $?"; grep -q 'alice tampered: /data/users/alice/evil -> /etc/shadow' /run/out && echo "add reports alice"
            check add
            stat -c '%n %F' /data/users/dave/dotfiles /data/users/alice/.ssh /data/users/alice/.ssh/authorized_keys /data/users/dave/dotfiles/.ssh/authorized_keys
            readlink /home/dave/.ssh

            # before recover: dotfile links to a non-existent /etc/created
            as dave sh -c 'cd /data/users/dave/dotfiles && rm -f .profile .vimrc && ln -s /etc/created .profile && ln -s /etc/created2 .vimrc' || exit 22
            $A recover > /run/out 2>&1; echo "recover exit $?"; grep -q 'dave tampered' /run/out && echo "recover reports dave"
            grep -q 'tampered: /data/users/dave/dotfiles/.profile is a symbolic link' /run/out && echo "recover reports the .profile link"
            check recover
            $A doctor --user dave > /run/out 2>&1; grep -q '^\[WARN\] user.tampered:dave' /run/out && echo "doctor reports dave"
            check doctor

            # before fix
            $A user fix dave > /run/out 2>&1; echo "fix exit $?"; grep -q 'evil -> /etc/shadow' /run/out && echo "fix reports evil"
            $A user fix alice > /run/out 2>&1; echo "fix alice exit $?"
            check fix

            # before migrate (and its rollback)
            $A user migrate dave --to symlink --yes > /run/out 2>&1; echo "migrate exit $?"; grep -q 'tampered' /run/out && echo "migrate reports dave"
            check migrate
            $A user migrate dave --rollback --yes > /run/out 2>&1; echo "rollback exit $?"
            check rollback
            ls /etc/created /etc/created2 2>&1 | grep -c 'No such file' | sed 's/^/absent /'
            """);
        var o = r.StdOut;
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.DoesNotContain("ETC CHANGED", o);
        foreach (var step in new[] { "add", "recover", "doctor", "fix", "migrate", "rollback" }) Assert.Contains($"{step}: etc unchanged", o);
        // Everything else is set up; the links into system paths are left (never followed) and need a human: exit 1.
        Assert.Contains("add dave exit 1\nadd reports dave\n", o);
        Assert.Contains("add alice exit 1\nadd reports alice\n", o);
        Assert.Contains("/data/users/dave/dotfiles directory\n/data/users/alice/.ssh directory\n/data/users/alice/.ssh/authorized_keys regular file\n" +
            "/data/users/dave/dotfiles/.ssh/authorized_keys regular file\n/data/users/dave/dotfiles/.ssh\n", o);
        Assert.Contains("recover exit 1", o);
        Assert.Contains("recover reports dave", o);
        Assert.Contains("recover reports the .profile link", o);
        Assert.Contains("doctor reports dave", o);
        Assert.Contains("fix exit 1", o);
        Assert.Contains("fix reports evil", o);
        Assert.Contains("fix alice exit 1", o);
        Assert.Contains("migrate reports dave", o);
        Assert.Contains("rollback exit 0", o);
        Assert.Contains("absent 2", o);
    }

    [Fact]
    public void Remove_refuses_a_user_with_processes_and_force_removes_the_account_anyway()
    {
        var r = SimServer.BootOnce(Reset.None, """
            $AICA init --gid 2500 -q || exit 10
            /data/bin/aica user add bob -q || exit 11
            setpriv --reuid=bob --regid=bob --init-groups sleep 300 & pid=$!
            /data/bin/aica user remove bob --yes > /dev/null 2>&1; echo "remove exit $?"
            id bob > /dev/null 2>&1 && echo "bob still there"
            /data/bin/aica user remove bob --yes --force; echo "force exit $?"
            kill $pid
            id bob > /dev/null 2>&1 || echo "bob gone"
            grep -q '^bob:' /data/config/users.txt || echo "bob unregistered"
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("remove exit 3\nbob still there\n", r.StdOut);
        Assert.True(r.StdOut.Contains("force exit 0\n"), r.ToString());
        Assert.Contains("bob gone\nbob unregistered\n", r.StdOut);
    }
}
