using Aica.Tests.Infra;

namespace Aica.Tests.Integration;

/// <summary>
/// aica adopt end to end on a simulated server whose state was left by the bash scripts of AICADataKeeper:
/// two-field users.txt, global_env.sh, the sudoers drop-in, the profile.d loader, the old unit, /tmp/recovery-complete,
/// group-writable /data, 777 caches, scripts whose exec bits a recursive chmod took.
/// </summary>
public sealed class AdoptSpecs
{
    /// <summary>What the bash scripts leave behind (R is a root prefix; empty inside the simulated server).</summary>
    public const string BashEra = """
        set -e
        mount -t tmpfs -o mode=1777 tmp /tmp
        groupadd -g 2000 gpu-users
        for u in alice:3001 bob:3002 carol:3003; do
          n=${u%%:*}; id=${u##*:}
          groupadd -g $id $n && useradd -u $id -g $id -G gpu-users -s /bin/bash -d /home/$n -M $n
          mkdir -p /data/users/$n && chown $id:2000 /data/users/$n && chmod 750 /data/users/$n
          ln -s /data/users/$n /home/$n
        done
        mkdir -p /data/scripts /data/config /data/apps/miniconda3/bin /data/cache/conda/pkgs /data/cache/pip /data/cache/npm \
          /data/models/torch /data/models/huggingface/hub /data/models/huggingface/datasets /data/models/comfyui /data/models/flux \
          /data/dataset /data/code
        chgrp 2000 /data /data/config /data/apps && chmod 775 /data /data/config /data/apps
        chmod 777 /data/cache/conda/pkgs /data/cache/pip /data/cache/npm /data/models/torch /data/models/huggingface/hub
        echo pkg > /data/cache/conda/pkgs/numpy.tar.bz2 && chmod 666 /data/cache/conda/pkgs/numpy.tar.bz2
        printf '#!/bin/sh\necho conda 23.1.0\n' > /data/apps/miniconda3/bin/conda && chmod 644 /data/apps/miniconda3/bin/conda
        # alice's data: a script and a program the old user-fix-permissions.sh stripped (chmod -R 664)
        mkdir -p /data/users/alice/bin /data/users/alice/proj
        printf '#!/bin/sh\necho train\n' > /data/users/alice/bin/train
        printf '#!/bin/bash\necho run\n' > /data/users/alice/proj/run.sh
        printf 'umask 002\nsource /data/config/global_env.sh\n' > /data/users/alice/.bashrc
        echo notes > /data/users/alice/notes.txt
        chown -R 3001:2000 /data/users/alice/bin /data/users/alice/proj /data/users/alice/.bashrc /data/users/alice/notes.txt
        chmod 664 /data/users/alice/bin/train /data/users/alice/proj/run.sh
        chmod 700 /data/users/bob
        printf 'alice:gpu-users\nbob:gpu-users\n# carol joined in May\ncarol:gpu-users\n' > /data/config/users.txt
        cat > /data/config/global_env.sh <<'X'
        # Conda shared cache
        export CONDA_PKGS_DIRS="/data/cache/conda/pkgs"
        export CONDA_ENVS_PATH="$HOME/conda/envs"  # Per-user
        export MODELS_DIR="/data/models"
        export TORCH_HOME="/data/models/torch"
        export HF_HOME="/data/models/huggingface"
        export HF_HUB_CACHE="/data/models/huggingface/hub"
        export HF_DATASETS_CACHE="/data/models/huggingface/datasets"
        export COMFYUI_HOME="/data/models/comfyui"
        export FLUX_HOME="/data/models/flux"
        export PATH="/data/apps/miniconda3/bin:$PATH"
        X
        echo '[ -f /data/config/global_env.sh ] && . /data/config/global_env.sh' > /etc/profile.d/global_envs.sh
        cat > /etc/sudoers.d/aica-datakeeper <<'X'
        # /etc/sudoers.d/aica-datakeeper
        Cmnd_Alias CACHE_MGMT = /data/scripts/ops-clean-cache.sh
        Cmnd_Alias DISK_CHECK = /usr/bin/df
        %gpu-users ALL=(ALL) NOPASSWD: CACHE_MGMT, DISK_CHECK
        X
        chmod 440 /etc/sudoers.d/aica-datakeeper
        mkdir -p /etc/systemd/system /etc/cron.d
        printf '[Unit]\nDescription=AICA recovery\n[Service]\nType=oneshot\nExecStart=/data/scripts/ops-recovery.sh\nExecStartPost=/bin/touch /tmp/recovery-complete\n[Install]\nWantedBy=multi-user.target\n' > /etc/systemd/system/aica-recovery.service
        echo '0 * * * * root /data/scripts/ops-disk-alert.sh --threshold 80' > /etc/cron.d/aica-disk
        touch /tmp/recovery-complete
        for s in ops-recovery ops-setup-global user-setup user-register user-fix-permissions ops-clean-cache ops-disk-alert system-permissions system-sudoers install-miniconda; do
          printf '#!/bin/bash\necho old %s\n' $s > /data/scripts/$s.sh
        done
        chown -R 3001:2000 /data/scripts && chmod -R 775 /data/scripts
        set +e
        """;

    /// <summary>Everything under /data/users: names, types, modes, owners, sizes, mtimes, link targets and content hashes.</summary>
    private const string UsersSnapshot = """
        find /data/users -printf '%p %y %m %u %g %s %T@ %l\n' | sort
        find /data/users -type f -exec md5sum {} + | sort
        """;

    private static string Between(string text, string from, string to)
    {
        var a = text.IndexOf(from, StringComparison.Ordinal);
        var b = text.IndexOf(to, a + from.Length, StringComparison.Ordinal);
        Assert.True(a >= 0 && b > a, $"markers {from}/{to} missing in:\n{text}");
        return text[(a + from.Length)..b];
    }

    [Trait("level", "sim")]
    [Fact]
    public void A_bash_era_server_is_taken_over_with_backups_a_report_and_nothing_under_data_users_changed()
    {
        var r = SimServer.BootOnce(Reset.None, BashEra + "\n" + $$"""
            echo '[ -f /tmp/recovery-complete ] || echo "recovery still running, log in later"' > /etc/profile.d/zz-recovery-wait.sh
            echo @@before; {{UsersSnapshot}}; echo @@end
            cp /etc/sudoers.d/aica-datakeeper /run/old-sudoers
            $AICA doctor -v | grep legacy.bash-era
            $AICA adopt --dry-run > /run/dry.txt; echo "dry=$?"
            find /data /etc/sudoers.d /etc/profile.d -newer /run/old-sudoers | sort > /run/after-dry.txt; echo "changed-by-dry=$(grep -vc '^/data/admin/log' /run/after-dry.txt)"
            $AICA adopt > /run/adopt.txt 2>&1; echo "adopt=$?"
            cat /run/adopt.txt
            echo @@after; {{UsersSnapshot}}; echo @@end
            echo @@registry; cat /data/config/users.txt; echo @@end
            grep -E '^(name|gid) =' /data/config/aica.toml
            stat -c '%n %U:%G %a' /data /data/config /data/apps /data/scripts /data/scripts/ops-disk-alert.sh /data/cache/conda/pkgs /data/cache/pip /data/models/torch
            for f in /etc/profile.d/global_envs.sh /etc/sudoers.d/aica-datakeeper /tmp/recovery-complete; do test -e $f && echo "still: $f"; done
            B=$(ls -d /data/admin/backups/adopt_*)
            cmp $B/etc/sudoers.d/aica-datakeeper /run/old-sudoers && echo backup-sudoers-ok
            grep -q 'ExecStart=/data/scripts/ops-recovery.sh' $B/etc/systemd/system/aica-recovery.service && echo backup-unit-ok
            grep -q 'echo old ops-disk-alert' $B/data/scripts/ops-disk-alert.sh && echo backup-script-ok
            grep -q '^alice:gpu-users$' $B/data/config/users.txt && echo backup-registry-ok
            grep -q 'HF_HOME="/data/models/huggingface"' $B/data/config/global_env.sh && echo backup-env-ok
            grep -c . /data/config/global_env.sh | sed 's/^/env-lines=/'
            grep '^ExecStart=' /etc/systemd/system/aica-recovery.service
            test -s /etc/sudoers.d/aica && echo new-sudoers-ok
            ls /data/admin/reports/adopt_*.txt >/dev/null && echo report-ok
            AICA_BIN=/data/bin/aica sh /data/scripts/ops-recovery.sh > /run/wrapped.txt; echo "wrapped=$?"
            $AICA adopt > /run/again.txt; echo "again=$?"; tail -1 /run/again.txt
            /data/bin/aica recover -q; echo "recover=$?"
            /data/bin/aica doctor -v | grep legacy.bash-era
            echo @@final; {{UsersSnapshot}}; echo @@end
            """);
        var o = r.StdOut;
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("dry=0", o);
        Assert.Contains("changed-by-dry=0", o);
        Assert.Contains("adopt=0", o);
        var before = Between(o, "@@before", "@@end");
        Assert.Contains("/data/users/alice/bin/train", before);
        Assert.Equal(before, Between(o, "@@after", "@@end"));
        // The next recover sets up the homes (SPEC §5): it may add aica's block to the managed rc files and change the
        // data dir's own size and mtime; every other entry, and every byte of the user's other files, is as it was.
        var final = Between(o, "@@final", "@@end").Split('\n').ToHashSet();
        string[] managed = ["/.profile", "/.zprofile", "/.bash_profile", "/.condarc"];
        var lost = before.Split('\n').Where(l => !final.Contains(l))
            .Where(l => !System.Text.RegularExpressions.Regex.IsMatch(l, @"^/data/users/[a-z0-9_-]+ d ") && !managed.Any(m => l.Contains(m + " ") || l.EndsWith(m)))
            .ToList();
        Assert.True(lost.Count == 0, "changed by recover:\n" + string.Join("\n", lost));

        Assert.Equal("""

            # generation 1
            alice:gpu-users:3001:3001:/bin/bash:symlink
            bob:gpu-users:3002:3002:/bin/bash:symlink
            # carol joined in May
            carol:gpu-users:3003:3003:/bin/bash:symlink

            """.Replace("\r", ""), Between(o, "@@registry", "@@end"));
        Assert.Contains("name = \"gpu-users\"", o);
        Assert.Contains("gid = 2000", o);
        foreach (var line in new[]
                 {
                     "/data root:root 755", "/data/config root:root 755", "/data/apps root:root 755", "/data/scripts root:root 755",
                     "/data/scripts/ops-disk-alert.sh root:root 755", "/data/cache/conda/pkgs root:gpu-users 2775", "/data/cache/pip root:root 775",
                     "/data/models/torch root:gpu-users 2775",
                 })
            Assert.Contains(line, o);
        Assert.DoesNotContain("still:", o);
        foreach (var ok in new[] { "backup-sudoers-ok", "backup-unit-ok", "backup-script-ok", "backup-registry-ok", "backup-env-ok", "new-sudoers-ok", "report-ok" })
            Assert.Contains(ok, o);
        Assert.Contains("env-lines=2", o); // global_env.sh is a stub that sets nothing
        Assert.Contains("ExecStart=/data/bin/aica recover", o);
        Assert.Contains("wrapped=0", o); // the old name runs aica recover
        Assert.Contains("again=0", o);
        Assert.Contains("adopt: nothing to change", o);
        Assert.Contains("recover=0", o);
        Assert.Contains("[WARN] legacy.bash-era  bash-era state remains: /etc/sudoers.d/aica-datakeeper, /etc/profile.d/global_envs.sh, /tmp/recovery-complete, 3 two-field lines in users.txt", o);
        Assert.Contains("[PASS] legacy.bash-era", o);

        // The report names what it found and could not fix itself.
        Assert.Contains("HF_HOME=/data/models/huggingface was shared", o);
        Assert.Contains("/data/users/alice: 2 scripts or programs have no exec bit", o);
        Assert.Contains("/data/apps/miniconda3: 1 scripts or programs have no exec bit", o);
        Assert.Contains("/etc/cron.d/aica-disk", o);
        Assert.Contains("[WARN] /etc/profile.d/zz-recovery-wait.sh: '[ -f /tmp/recovery-complete ] || echo \"recovery still running, log in later\"' waits for the bash-era marker", o);
        Assert.Contains("install-miniconda.sh", o);
        Assert.Contains("world-writable entries inside", o);
    }

    [Trait("level", "sim")]
    [Fact]
    public void A_registry_line_without_an_account_and_a_hand_edited_sudoers_are_reported_nothing_lost_exit_1()
    {
        var r = SimServer.BootOnce(Reset.None, BashEra + "\n" + $$"""
            echo 'ghost:gpu-users' >> /data/config/users.txt
            # the vanished user's data is still there, owned by a uid nobody has any more
            mkdir -p /data/users/ghost/thesis && echo chapter1 > /data/users/ghost/thesis/ch1.tex && chown -R 3009:2000 /data/users/ghost && chmod 700 /data/users/ghost
            echo 'alice ALL=(ALL) NOPASSWD: ALL' >> /etc/sudoers.d/aica-datakeeper
            cp /etc/sudoers.d/aica-datakeeper /run/old-sudoers
            echo @@before; {{UsersSnapshot}}; echo @@end
            $AICA adopt --dry-run > /run/dry.txt; echo "dry=$?"
            $AICA adopt > /run/adopt.txt; echo "adopt=$?"
            cat /run/adopt.txt
            echo @@after; {{UsersSnapshot}}; echo @@end
            cmp /etc/sudoers.d/aica-datakeeper /run/old-sudoers && echo sudoers-kept
            grep -x 'ghost:gpu-users' /data/config/users.txt && echo ghost-kept
            grep -x 'alice:gpu-users:3001:3001:/bin/bash:symlink' /data/config/users.txt && echo alice-upgraded
            test -e /etc/profile.d/global_envs.sh || echo rest-done
            grep -c '^PROBLEM' /data/admin/reports/adopt_*.txt | sed 's/^/report-problems=/'
            $AICA adopt --json > /run/adopt.json; echo "json=$?"
            cat /run/adopt.json
            """);
        var o = r.StdOut;
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("dry=1", o);
        Assert.Contains("adopt=1", o);
        Assert.Equal(Between(o, "@@before", "@@end"), Between(o, "@@after", "@@end"));
        Assert.Contains("/data/users/ghost/thesis/ch1.tex", Between(o, "@@after", "@@end"));
        Assert.Contains("rest-done", o); // everything else was done
        Assert.Contains("report-problems=2", o);
        Assert.Contains("ghost has no account", o);
        Assert.Contains("edited by hand", o);
        Assert.Contains("alice ALL=(ALL) NOPASSWD: ALL", o);
        Assert.Contains("sudoers-kept", o);
        Assert.Contains("ghost-kept", o);
        Assert.Contains("alice-upgraded", o);
        Assert.Contains("json=1", o);
        var json = o[o.IndexOf("json=1", StringComparison.Ordinal)..];
        using var doc = System.Text.Json.JsonDocument.Parse(json[(json.IndexOf('\n') + 1)..]);
        Assert.Equal(2, doc.RootElement.GetProperty("problems").GetArrayLength());
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Adopt_refuses_without_a_mounted_data_and_needs_root()
    {
        Require.Root();
        using var sb = new Sandbox(mountData: false);
        var r = sb.Aica("adopt");
        Assert.Equal(3, r.ExitCode);
        Assert.Empty(Directory.GetFileSystemEntries(sb.P("/data")));
    }
}

/// <summary>adopt carries the bash era's own settings into aica.toml (in a sandbox, in-process).</summary>
[Collection("cli")]
public sealed class AdoptConfigSpecs : IDisposable
{
    private readonly Sandbox _sb;

    public AdoptConfigSpecs()
    {
        Require.Root();
        _sb = new Sandbox();
    }

    public void Dispose() => _sb.Dispose();

    /// <summary>
    /// Cache paths and the conda root of global_env.sh (the seed's /data/system layout, quoted or not) become the
    /// config; a path that is not clean under /data keeps the default and is reported; a shared HF_HOME is not carried.
    /// </summary>
    [Trait("level", "blackbox")]
    [Fact]
    public void Non_default_global_env_values_become_the_config_and_unclean_ones_keep_the_default()
    {
        var R = _sb.Root;
        Tools.Sh($"""
            set -e
            groupadd -P '{R}' -g 2100 lab && groupadd -P '{R}' -g 3001 alice && useradd -P '{R}' -u 3001 -g 3001 -G lab -M -d /home/alice alice
            mkdir -p '{R}/data/config' '{R}/data/system/apps/miniconda3/bin' '{R}/data/users/alice'
            printf 'alice:lab\n' > '{R}/data/config/users.txt'
            cat > '{R}/data/config/global_env.sh' <<'X'
            export CONDA_PKGS_DIRS="/data/system/cache/conda/pkgs"
            export TORCH_HOME=/data/models/torch-hub   # moved in 2025
            export HF_HOME="/data/models/huggingface"
            export HF_HUB_CACHE='/data/models/hf/hub'
            export COMFYUI_HOME="/data/models/../../etc/comfy"
            export PATH="/data/system/apps/miniconda3/bin:$PATH"
            X
            """);
        var (code, stdout, stderr) = InProcess.Aica(R, "adopt");
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        var toml = File.ReadAllText(_sb.P("/data/config/aica.toml"));
        foreach (var line in new[]
                 {
                     "name = \"lab\"", "gid = 2100", "conda_root = \"/data/system/apps/miniconda3\"",
                     "conda_pkgs = \"/data/system/cache/conda/pkgs\"", "torch = \"/data/models/torch-hub\"",
                     "hf_hub = \"/data/models/hf/hub\"", "comfyui = \"/data/models/comfyui\"",
                 })
            Assert.Contains(line, toml);
        Assert.DoesNotContain("/data/models/huggingface\"", toml.Split('\n').Single(l => l.StartsWith("hf_hub")));
        Assert.Contains("COMFYUI_HOME=/data/models/../../etc/comfy is not a clean path under /data", stdout + stderr);
        Assert.Contains("HF_HOME=/data/models/huggingface was shared", stdout + stderr);
        // The config adopt wrote is one aica reads, and the caches it names are the ones init created.
        Assert.Equal("root:lab 2775 directory", _sb.Stat("/data/system/cache/conda/pkgs"));
        Assert.Equal("root:lab 2775 directory", _sb.Stat("/data/models/torch-hub"));
        Assert.Contains("[PASS] config.parse", _sb.Aica("doctor", "-v").StdOut);
        Assert.False(Directory.Exists(_sb.P("/etc/comfy")));
    }
}
