using Aica.Tests.Infra;

namespace Aica.Tests.Integration;

/// <summary>
/// adopt on a bash-era server where a member used the group-writable /data and /data/config to plant links where
/// adopt reads and writes. Nothing outside the sandbox's /data may change; the links are reported (exit 1).
/// </summary>
[Collection("cli")]
[Trait("level", "blackbox")]
public sealed class AdoptAttackSpecs : IDisposable
{
    private readonly Sandbox _sb;
    private readonly string _outside = Directory.CreateTempSubdirectory("aica-outside-").FullName;

    public AdoptAttackSpecs()
    {
        Require.Root();
        _sb = new Sandbox();
    }

    public void Dispose()
    {
        _sb.Dispose();
        Directory.Delete(_outside, true);
    }

    private (int Code, string Out, string Err) Aica(params string[] args) => InProcess.Aica(_sb.Root, args);

    private string Snapshot() => Tools.Sh($"cd '{_outside}' && find . -printf '%p %y %m %u %g %s %T@\\n' | sort && find . -type f -exec md5sum {{}} + | sort").StdOut;

    [Fact]
    public void Links_planted_in_the_bash_era_folders_are_never_followed_and_are_reported()
    {
        var R = _sb.Root;
        Tools.Sh($"""
            set -e
            groupadd -P '{R}' -g 2000 gpu-users && groupadd -P '{R}' -g 3001 alice && useradd -P '{R}' -u 3001 -g 3001 -G gpu-users -M -d /home/alice alice
            mkdir -p '{R}/data/config' '{R}/data/scripts' '{R}/data/cache' '{R}/data/users/alice' '{R}/etc/sudoers.d' '{R}/etc/profile.d'
            chown 3001:2000 '{R}/data/users/alice' && chmod 750 '{R}/data/users/alice' && ln -s /data/users/alice '{R}/home/alice'
            chmod 775 '{R}/data' '{R}/data/config' && chgrp 2000 '{R}/data/config'
            printf 'secret\n' > '{_outside}/shadow' && chmod 600 '{_outside}/shadow'
            printf 'alice:gpu-users\n' > '{_outside}/users.txt'
            printf '#!/bin/sh\necho victim\n' > '{_outside}/victim.sh' && chmod 700 '{_outside}/victim.sh'
            mkdir '{_outside}/pipdir' && chmod 777 '{_outside}/pipdir'
            ln -s '{_outside}/users.txt' '{R}/data/config/users.txt'
            ln -s '{_outside}/shadow' '{R}/data/config/global_env.sh'
            ln -s '{_outside}/victim.sh' '{R}/data/scripts/ops-recovery.sh'
            printf '#!/bin/bash\necho old\n' > '{R}/data/scripts/ops-disk-alert.sh'
            ln -s '{_outside}/pipdir' '{R}/data/cache/pip'
            """);
        var before = Snapshot();
        var (code, stdout, stderr) = Aica("adopt");
        Assert.True(code == 1, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Equal(before, Snapshot());
        Assert.Contains("/data/config/users.txt is a symbolic link", stdout + stderr);
        Assert.Contains("/data/config/global_env.sh is a symbolic link", stdout + stderr);
        // The planted script link was replaced by the wrapper as a link (rename over it), its target untouched.
        Assert.Equal("file", Tools.Sh($"stat -c %F '{_sb.P("/data/scripts/ops-recovery.sh")}'").StdOut.Trim().Split(' ')[^1]);
        Assert.Contains("exec \"${AICA_BIN:-/data/bin/aica}\" recover", File.ReadAllText(_sb.P("/data/scripts/ops-recovery.sh")));
        var backup = Directory.GetDirectories(_sb.P("/data/admin/backups"), "adopt_*").Single();
        Assert.Equal($"{_outside}/victim.sh", new FileInfo(Path.Combine(backup, "data/scripts/ops-recovery.sh")).LinkTarget);
        Assert.Equal($"{_outside}/users.txt", new FileInfo(Path.Combine(backup, "data/config/users.txt")).LinkTarget);
        Assert.Equal("root:root 755 directory", _sb.Stat("/data/config"));
    }

    [Fact]
    public void A_planted_link_instead_of_the_config_folder_is_removed_as_a_link()
    {
        var R = _sb.Root;
        Tools.Sh($"""
            groupadd -P '{R}' -g 2000 gpu-users
            mkdir -p '{_outside}/cfg' && printf 'x:gpu-users\n' > '{_outside}/cfg/users.txt'
            ln -s '{_outside}/cfg' '{R}/data/config'
            """);
        var before = Snapshot();
        var (code, stdout, stderr) = Aica("adopt");
        Assert.True(code == 1, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Equal(before, Snapshot());
        Assert.Equal("root:root 755 directory", _sb.Stat("/data/config"));
        Assert.Contains("/data/config is a symbolic link", stdout + stderr);
    }

    [Fact]
    public void Dry_run_on_a_bash_era_server_changes_nothing_and_lists_the_plan()
    {
        var R = _sb.Root;
        Tools.Sh($"""
            groupadd -P '{R}' -g 2000 gpu-users && groupadd -P '{R}' -g 3001 alice && useradd -P '{R}' -u 3001 -g 3001 -G gpu-users -M -d /home/alice alice
            mkdir -p '{R}/data/config' '{R}/etc/profile.d' && printf 'alice:gpu-users\n' > '{R}/data/config/users.txt' && chmod 775 '{R}/data'
            echo '. /data/config/global_env.sh' > '{R}/etc/profile.d/global_envs.sh'
            """);
        var snap = Tools.Sh($"cd '{R}' && find . -printf '%p %y %m %u %g %s %T@\\n' | sort").StdOut;
        var (code, stdout, stderr) = Aica("adopt", "--dry-run");
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Equal(snap, Tools.Sh($"cd '{R}' && find . -printf '%p %y %m %u %g %s %T@\\n' | sort").StdOut);
        Assert.Contains("[PLAN] upgrade /data/config/users.txt: line 1: alice:gpu-users -> alice:gpu-users:3001:3001:/bin/bash:symlink", stdout);
        Assert.Contains("[PLAN] remove /etc/profile.d/global_envs.sh", stdout);
        Assert.Contains("directory /data 0755", stdout);
    }
}
