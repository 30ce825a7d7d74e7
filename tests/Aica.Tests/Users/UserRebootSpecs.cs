using Aica.Tests.Infra;

namespace Aica.Tests.Users;

/// <summary>End to end on the simulated server: users of both layouts added with aica, then reboots and migrations.</summary>
public sealed class UserRebootSpecs
{
    private const string Setup = $"""
        $AICA init --gid 2500 -q || exit 10
        echo '{UserUnitSpecs.Ed25519}' > /run/k.pub
        /data/bin/aica user add alice --pubkey-file /run/k.pub -q || exit 11
        /data/bin/aica user add bob --layout hybrid --pubkey-file /run/k.pub -q || exit 12
        as() {"{"} u=$1; shift; env HOME=/home/$u setpriv --reuid=$u --regid=$u --init-groups "$@"; {"}"}
        as alice mkdir -p /data/users/alice/conda/envs/torch/bin || exit 13
        as alice sh -c 'echo "#!/bin/sh" > /data/users/alice/conda/envs/torch/bin/python' || exit 14
        as bob sh -c 'echo "alias g=git" >> /home/bob/.bashrc; echo "[user] name = Bob" > /home/bob/.gitconfig; echo volatile > /home/bob/scratch' || exit 15
        """;

    /// <summary>What members see: ids, links, dotfiles and keys byte for byte, the env dir, the login umask.</summary>
    private const string State = """
        as() { u=$1; shift; env HOME=/home/$u setpriv --reuid=$u --regid=$u --init-groups "$@"; }
        for u in alice bob; do id $u; done
        readlink /home/alice /home/bob/.ssh /home/bob/.bashrc /home/bob/data
        sha256sum /home/alice/.profile /home/alice/.zprofile /home/alice/.condarc /home/alice/.ssh/authorized_keys \
          /home/bob/.bashrc /home/bob/.profile /home/bob/.gitconfig /home/bob/.condarc /home/bob/.ssh/authorized_keys
        stat -c '%n %U:%G %a' /home/bob /home/bob/.ssh/ /home/bob/.ssh/authorized_keys /home/alice/.ssh/authorized_keys /data/users/alice/conda/envs/torch/bin/python
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
}
