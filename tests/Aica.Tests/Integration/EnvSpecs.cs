using System.Text.Json;
using Aica.Integration;
using Aica.Services;
using Aica.Site;
using Aica.Tests.Infra;
using static Aica.Native.Perms;

namespace Aica.Tests.Integration;

/// <summary>aica env: a member's view of their environment, in a sandbox with a registered user.</summary>
public sealed class EnvSpecs : IDisposable
{
    private readonly Sandbox _sb;

    public EnvSpecs()
    {
        Require.Root();
        _sb = new Sandbox();
        _sb.Init();
        _sb.AddUser("alice", 3995);
        var r = _sb.Aica("recover");
        Assert.True(r.ExitCode == 0, r.ToString());
        // Some data of alice's, with a hard link (counted once, as du does).
        Tools.Sh($"""
            cd '{_sb.P("/data/users/alice")}' && mkdir -p proj/a && head -c 300000 /dev/zero > proj/a/w.bin && ln proj/a/w.bin proj/w2.bin
            head -c 5000 /dev/zero > notes.txt && chown -R 3995:2500 proj notes.txt
            """);
    }

    public void Dispose() => _sb.Dispose();

    private Dictionary<string, string?> LoginVars(string? extra = null)
    {
        var v = new Dictionary<string, string?>
        {
            ["CONDA_PKGS_DIRS"] = "/data/cache/conda/pkgs", ["TORCH_HOME"] = "/data/models/torch", ["HF_HUB_CACHE"] = "/data/models/huggingface/hub",
            ["HF_DATASETS_CACHE"] = "/data/models/huggingface/datasets", ["COMFYUI_HOME"] = "/data/models/comfyui", ["FLUX_HOME"] = "/data/models/flux",
            ["MODELS_DIR"] = "/data/models", ["PATH"] = "/data/apps/miniconda3/condabin:/usr/bin:/bin", ["USER"] = "alice",
        };
        if (extra is not null) { var kv = extra.Split('=', 2); v[kv[0]] = kv[1]; }
        return v;
    }

    private EnvReport Env(int uid, uint umask, Dictionary<string, string?> vars)
    {
        using var s = new AicaServices(new GlobalOptions(Root: _sb.Root));
        return new EnvService(s).Run(new ShellFacts(uid, umask, vars));
    }

    [Trait("level", "unit")]
    [Fact]
    public void A_member_in_a_login_shell_sees_where_everything_lives_and_du_agrees()
    {
        var r = Env(3995, O(2), LoginVars());
        Assert.Equal("alice", r.User);
        Assert.True(r.Member && r.Registered);
        Assert.Equal("symlink", r.Layout);
        Assert.Equal(("link", "/data/users/alice"), (r.HomeKind, r.HomeTarget));
        Assert.Equal("/data/users/alice/conda/envs", r.CondaEnvs); // envs_dirs of the .condarc aica wrote
        Assert.True(r.CondaEnvsPersistent);
        Assert.All(r.Caches, c => Assert.True(c.Set && c.Exists && c.Writable, c.ToString()));
        Assert.True(r.UmaskOk && r.VariablesSet && r.PathHasConda);
        var du = long.Parse(Tools.Sh($"du -s -B1 '{_sb.P("/data/users/alice")}'").StdOut.Split('\t')[0]);
        Assert.Equal(du, r.Disk!.DataBytes);
        Assert.Equal(1, r.RegisteredUsers);
        // Only the missing Miniconda is worth a hint here.
        Assert.True(r.Hints.Count == 1 && r.Hints[0].Contains("aica install miniconda"), string.Join("\n", r.Hints));
    }

    [Trait("level", "unit")]
    [Fact]
    public void Outside_a_login_shell_the_missing_variables_are_named_with_the_fix()
    {
        var r = Env(3995, O(22), new Dictionary<string, string?> { ["PATH"] = "/usr/bin:/bin" });
        Assert.False(r.VariablesSet);
        Assert.False(r.UmaskOk);
        Assert.Contains(r.Hints, h => h.Contains("CONDA_PKGS_DIRS") && h.Contains("bash -l") && h.Contains("/etc/profile.d/aica.sh"));
        Assert.Contains(r.Hints, h => h.Contains("umask is 0022") && h.Contains("umask 002"));
    }

    [Trait("level", "unit")]
    [Fact]
    public void Bash_era_values_are_flagged_a_shared_HF_HOME_first()
    {
        var vars = LoginVars("HF_HOME=/data/models/huggingface");
        vars["TORCH_HOME"] = "/data/system/cache/torch";
        vars["PIP_CACHE_DIR"] = "/data/cache/pip";
        var r = Env(3995, O(2), vars);
        Assert.Contains(r.Hints, h => h.Contains("HF_HOME=/data/models/huggingface") && h.Contains("token"));
        Assert.Contains(r.Hints, h => h.Contains("TORCH_HOME=/data/system/cache/torch"));
        Assert.Contains(r.Hints, h => h.Contains("PIP_CACHE_DIR"));
        Assert.Equal("/data/models/huggingface", r.UserCaches.Single(c => c.Name.StartsWith("HF_HOME")).Path);
    }

    [Trait("level", "unit")]
    [Fact]
    public void A_home_on_the_SSD_with_conda_envs_there_is_a_warning_about_reboots()
    {
        Tools.Sh($"rm '{_sb.P("/home/alice")}' && mkdir '{_sb.P("/home/alice")}'");
        var r = Env(3995, O(2), LoginVars());
        Assert.Equal("directory", r.HomeKind);
        Assert.False(r.CondaEnvsPersistent);
        Assert.Contains(r.Hints, h => h.Contains("should be a link to /data/users/alice"));
        Assert.Contains(r.Hints, h => h.Contains("lost at reboot") && h.Contains("envs_dirs"));

        // envs_dirs in the .condarc conda reads (here the SSD home's) puts them back on /data.
        File.WriteAllText(_sb.P("/home/alice/.condarc"), "envs_dirs:\n  - /data/users/alice/conda/envs\n");
        Assert.True(Env(3995, O(2), LoginVars()).CondaEnvsPersistent);
    }

    [Trait("level", "unit")]
    [Fact]
    public void An_unregistered_non_member_is_told_to_ask_the_admin()
    {
        Tools.Sh($"useradd -P '{_sb.Root}' -u 3050 -U -M -d /home/mallory mallory");
        var r = Env(3050, O(2), LoginVars());
        Assert.Equal("mallory", r.User);
        Assert.False(r.Registered);
        Assert.False(r.Member);
        Assert.Contains(r.Hints, h => h.Contains("not in the user registry") && h.Contains("aica user add mallory"));
        Assert.Contains(r.Hints, h => h.Contains("not a member of gpu-users"));
        Assert.All(r.Caches, c => Assert.False(c.Writable));
        Assert.Null(r.Disk);
    }

    [Trait("level", "unit")]
    [Fact]
    public void A_link_planted_in_the_data_dir_is_not_followed_by_the_measurement()
    {
        Tools.Sh($"mkdir -p '{_sb.P("/big")}' && head -c 2000000 /dev/zero > '{_sb.P("/big/f")}' && ln -s '{_sb.P("/big")}' '{_sb.P("/data/users/alice/escape")}' && ln -s /big '{_sb.P("/data/users/alice/escape2")}'");
        var r = Env(3995, O(2), LoginVars());
        Assert.True(r.Disk!.DataBytes < 1_000_000, $"{r.Disk.DataBytes}");
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void As_a_non_root_user_the_binary_answers_in_json_from_a_real_login_like_shell()
    {
        var script = $"umask 002; exec '{Tools.AicaBin}' --root '{_sb.Root}' env --json";
        var r = Tools.Run("setpriv", ["--reuid", "3995", "--regid", "3995", "--groups", "2500", "env", "-i", "PATH=/usr/bin:/bin", "USER=alice",
            "CONDA_PKGS_DIRS=/data/cache/conda/pkgs", "/bin/sh", "-c", script]);
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = JsonDocument.Parse(r.StdOut);
        var root = doc.RootElement;
        Assert.Equal("alice", root.GetProperty("user").GetProperty("name").GetString());
        Assert.Equal(3995, root.GetProperty("user").GetProperty("uid").GetInt32());
        Assert.Equal("0002", root.GetProperty("shell").GetProperty("umask").GetString());
        Assert.False(root.GetProperty("shell").GetProperty("variables_set").GetBoolean());
        Assert.True(root.GetProperty("caches")[0].GetProperty("set").GetBoolean());
        Assert.True(root.GetProperty("disk").GetProperty("data_bytes").GetInt64() > 300000);
        Assert.Contains(root.GetProperty("hints").EnumerateArray(), h => h.GetString()!.Contains("bash -l"));

        var human = Tools.Run("setpriv", ["--reuid", "3995", "--regid", "3995", "--groups", "2500", "env", "-i", "PATH=/usr/bin:/bin",
            "/bin/sh", "-c", $"umask 002; exec '{Tools.AicaBin}' --root '{_sb.Root}' env"]);
        Assert.True(human.ExitCode == 0, human.ToString());
        Assert.Contains("[HINT]", human.StdOut);
        Assert.Contains("home        /home/alice (link -> /data/users/alice)", human.StdOut);
    }
}

/// <summary>aica env on a simulated server, as a member in a real login shell and in a non-login one.</summary>
public sealed class EnvLoginSpecs
{
    [Trait("level", "sim")]
    [Fact]
    public void In_a_login_shell_everything_is_set_and_without_one_the_hint_says_how_to_get_it()
    {
        var r = SimServer.BootOnce(Reset.None, """
            $AICA init --gid 2500 -q || exit 10
            /data/bin/aica user add alice --uid 3001 -q || exit 11
            mkdir -p /data/apps/miniconda3/condabin   # a root-owned install: the profile puts its launcher on PATH
            echo "login: $(su - alice -c '/data/bin/aica env --json --no-disk' | tr -d '\n ')"
            su alice -s /bin/sh -c 'env -i PATH=/usr/bin:/bin /data/bin/aica env --no-disk' | grep 'bash -l' | head -1
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        var login = r.StdOut.Split('\n').Single(l => l.StartsWith("login: "))[7..];
        Assert.Contains("\"name\":\"alice\"", login);
        Assert.Contains("\"registered\":true", login);
        Assert.Contains("\"umask\":\"0002\"", login);
        Assert.Contains("\"variables_set\":true", login);
        Assert.Contains("\"path_has_conda\":true", login);
        Assert.Contains("\"home_target\":\"/data/users/alice\"", login);
        Assert.Contains("not set in this shell", r.StdOut);
    }
}
