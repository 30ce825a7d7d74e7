using Aica.Config;
using Aica.Engine;
using Aica.IO;
using Aica.Native;
using Aica.Site;
using Aica.Users;
using static Aica.Native.Perms;

namespace Aica.Integration;

/// <summary>What `aica env` looks at in the caller's process: its uid, umask and environment variables.</summary>
public sealed record ShellFacts(int Uid, uint? Umask, IReadOnlyDictionary<string, string?> Variables)
{
    public string? Var(string name) => Variables.TryGetValue(name, out var v) && !string.IsNullOrEmpty(v) ? v : null;

    /// <summary>The running process: uid, umask from /proc/self/status (reading it does not change it), its environment.</summary>
    public static ShellFacts Current()
    {
        uint? umask = null;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("Umask:")) { umask = Convert.ToUInt32(line[6..].Trim(), 8); break; }
        }
        catch (IOException) { }
        var vars = new Dictionary<string, string?>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables()) vars[(string)e.Key] = e.Value as string;
        return new ShellFacts((int)Sys.Uid, umask, vars);
    }
}

/// <summary>A shared cache and the variable that points there.</summary>
public sealed record EnvCache(string Id, string Variable, string Expected, string? Value, bool Exists, bool Writable)
{
    public bool Set => Value == Expected;
}

public sealed record EnvDisk(long DataBytes, long DataFiles, int Unreadable, long FsSize, long FsUsed)
{
    public double ShareOfUsed => FsUsed <= 0 ? 0 : 100.0 * DataBytes / FsUsed;
    public double ShareOfSize => FsSize <= 0 ? 0 : 100.0 * DataBytes / FsSize;
}

public sealed record EnvReport(
    string User, int Uid, int Gid, string Group, bool Member, bool Registered, string Layout,
    string Home, string HomeKind, string? HomeTarget, string DataDir, bool DataExists,
    string CondaRoot, bool CondaInstalled, string? CondaVersion, string CondaEnvs, bool CondaEnvsPersistent,
    IReadOnlyList<EnvCache> Caches, IReadOnlyList<(string Name, string Path)> UserCaches,
    string? Umask, bool UmaskOk, bool VariablesSet, bool PathHasConda, EnvDisk? Disk, int RegisteredUsers,
    IReadOnlyList<string> Hints);

/// <summary>
/// aica env (any user, read-only): where the caller's home, data, conda environments and caches live, whether this
/// shell has the umask and the variables of /etc/profile.d/aica.sh, their disk usage, and hints when something is off.
/// </summary>
public sealed class EnvService(AicaServices s)
{
    /// <summary>The variables /etc/profile.d/aica.sh exports (SPEC §3), by cache id.</summary>
    public static readonly IReadOnlyDictionary<string, string> Variables = new Dictionary<string, string>
    {
        ["conda"] = "CONDA_PKGS_DIRS", ["torch"] = "TORCH_HOME", ["hf.hub"] = "HF_HUB_CACHE", ["hf.datasets"] = "HF_DATASETS_CACHE",
        ["comfyui"] = "COMFYUI_HOME", ["flux"] = "FLUX_HOME",
    };

    public EnvReport Run(ShellFacts shell, bool measureDisk = true)
    {
        if (!s.DataMounted()) throw AicaException.Refused($"{s.Fs.Host("/data")} is not mounted: nothing of yours is reachable (ask the admin; aica doctor)");
        var config = s.LoadConfig();
        var db = s.Accounts.Load();
        var registry = s.Registry.Load();
        var hints = new List<string>();

        var pw = db.UserById(shell.Uid);
        var name = pw?.Name ?? shell.Var("USER") ?? shell.Var("LOGNAME") ?? shell.Uid.ToString();
        var gid = pw?.Gid ?? -1;
        var entry = registry.Find(name);
        var member = pw is not null && db.IsMember(name, config.Group);
        var layout = entry?.Layout ?? (entry is null ? "unregistered" : config.DefaultLayout);
        if (shell.Uid == 0) hints.Add("you are root: this shows the server-wide settings; run aica env as a member to see theirs");
        else if (entry is null) hints.Add($"{name} is not in the user registry: the home is not rebuilt after a reboot (ask the admin: sudo aica user add {name})");
        if (shell.Uid != 0 && !member) hints.Add($"{name} is not a member of {config.Group}: the shared caches are read-only or closed to you (ask the admin)");

        var kind = HomeLayouts.Supported.Find(layout); // null: not registered, or a layout this aica does not know
        var spec = new UserSpec(name, shell.Uid, gid, pw?.Shell ?? config.DefaultShell, kind ?? new SymlinkLayout(), 0, config.Group);
        var home = entry is null && pw is not null && pw.Home.StartsWith('/') ? pw.Home : spec.Home;
        var (homeKind, homeTarget) = Home(home);
        var dataExists = s.Fs.Lstat(spec.DataDir) is { IsDir: true };
        if (shell.Uid != 0 && entry is not null)
        {
            if (kind is { HomeIsLink: true } && homeTarget != spec.DataDir)
                hints.Add($"{spec.Home} should be a link to {spec.DataDir} but is {homeKind}{(homeTarget is null ? "" : $" -> {homeTarget}")}: files there are lost at reboot (ask the admin: sudo aica recover)");
            if (kind is { HomeIsLink: false } && homeKind != "directory")
                hints.Add($"{spec.Home} should be a directory on the SSD (hybrid layout) but is {homeKind} (ask the admin: sudo aica recover)");
            if (!dataExists) hints.Add($"{spec.DataDir} is missing (ask the admin: sudo aica recover)");
        }

        var record = s.Fs.ReadText($"{config.CondaRoot}/{InstallService.RecordName}");
        var condaInstalled = s.Fs.Lstat($"{config.CondaRoot}/bin/conda") is { IsFile: true };
        var condaVersion = record?.Split('\n').FirstOrDefault(l => l.StartsWith("version="))?[8..];
        if (!condaInstalled) hints.Add($"the shared Miniconda is not installed at {config.CondaRoot} (admin: aica install miniconda --from FILE)");
        var (envs, envsPersistent) = CondaEnvs(spec, home, shell, homeKind, homeTarget);
        if (shell.Uid != 0 && !envsPersistent)
            hints.Add($"conda environments go to {envs}, on the volatile SSD: they are lost at reboot; set envs_dirs in {spec.DataDir}/.condarc to a folder under {spec.DataDir}");

        var groups = UserGids(db, name, gid);
        var caches = config.SharedCaches.Select(c =>
        {
            var st = s.Fs.Lstat(c.Path);
            var writable = st is { IsDir: true } d && (shell.Uid == 0 || CanWrite(d, shell.Uid, groups));
            var v = Variables[c.Id];
            return new EnvCache(c.Id, v, c.Path, shell.Var(v), st is { IsDir: true }, writable);
        }).ToList();
        var userCaches = new List<(string, string)>
        {
            ("pip", $"{home}/.cache/pip"), ("uv", $"{home}/.cache/uv"), ("npm", $"{home}/.npm"),
            ("HF_HOME (token)", shell.Var("HF_HOME") ?? $"{home}/.cache/huggingface"),
        };

        var missing = caches.Where(c => !c.Set).ToList();
        var variablesSet = missing.Count == 0 && shell.Var("MODELS_DIR") == config.ModelsDir;
        if (missing.Count > 0)
        {
            var wrong = missing.Where(c => c.Value is not null).Select(c => $"{c.Variable}={c.Value}").ToList();
            hints.Add(wrong.Count > 0
                ? $"{string.Join(", ", wrong)} differ from this server's settings (an old ~/.bashrc line or the old global_env.sh?); remove the export and log in again"
                : $"{string.Join(", ", missing.Select(c => c.Variable))} are not set in this shell: every new session gets them from PAM ({Templates.PamEnvPath}) and login shells from {Templates.ProfilePath}; this one started without them (env -i, a shell older than the last aica recover, or a system without aica's PAM profile). Log in again or run: bash -l");
        }
        if (shell.Var("HF_HOME") is { } hf && (hf == "/data/models/huggingface" || hf.StartsWith(config.ModelsDir + "/")))
            hints.Add($"HF_HOME={hf} is shared: your Hugging Face token would be readable by the whole group. Remove the export; only HF_HUB_CACHE and HF_DATASETS_CACHE are shared");
        foreach (var old in new[] { "TRANSFORMERS_CACHE", "PIP_CACHE_DIR", "UV_CACHE_DIR" })
            if (shell.Var(old) is { } v && v.StartsWith("/data/") && !v.StartsWith(spec.DataDir + "/"))
                hints.Add($"{old}={v} points into a shared folder (a bash-era setting): remove it, per-user caches live in ~/.cache");

        var umask = shell.Umask is { } m ? Convert.ToString(m, 8).PadLeft(4, '0') : null;
        var umaskOk = shell.Umask is { } um && (um & O(2)) != 0 && (shell.Uid == 0 || !member || (um & O(20)) == 0);
        if (shell.Uid != 0 && member && shell.Umask is { } u2 && (u2 & O(20)) != 0)
            hints.Add($"your umask is {umask}: files you create in the shared caches are not group-writable and others' installs will fail on them. Use umask 002 (a login shell sets it)");
        if (shell.Umask is { } u3 && (u3 & O(2)) == 0)
            hints.Add($"your umask {umask} makes new files world-writable; use umask 002 (a login shell sets it)");

        var pathHasConda = (shell.Var("PATH") ?? "").Split(':').Contains($"{config.CondaRoot}/condabin");
        if (!pathHasConda && condaInstalled) hints.Add($"{config.CondaRoot}/condabin is not on PATH: conda is not found in this shell (log in again or run bash -l)");

        EnvDisk? disk = null;
        if (measureDisk && dataExists)
        {
            var (bytes, files, unreadable) = Measure(spec.DataDir);
            var fs = s.Fs.StatVfs("/data");
            var size = (long)(fs.Blocks * fs.BlockSize);
            var used = (long)((fs.Blocks - fs.Free) * fs.BlockSize);
            disk = new EnvDisk(bytes, files, unreadable, size, used);
            var users = Math.Max(1, registry.Users.Count);
            if (shell.Uid != 0 && users > 1 && disk.ShareOfUsed > 200.0 / users)
                hints.Add($"you use {disk.ShareOfUsed:0}% of what is used on /data, more than twice an even share among {users} users: aica clean --all and aica du {spec.DataDir} help find what to drop");
            if (unreadable > 0) hints.Add($"{unreadable} folders under {spec.DataDir} are not readable by you and were not counted (aica user fix {name} as admin)");
        }
        return new EnvReport(name, shell.Uid, gid, config.Group, member, entry is not null, layout, home, homeKind, homeTarget, spec.DataDir,
            dataExists, config.CondaRoot, condaInstalled, condaVersion, envs, envsPersistent, caches, userCaches, umask, umaskOk, variablesSet,
            pathHasConda, disk, registry.Users.Count, hints);
    }

    private (string Kind, string? Target) Home(string home)
    {
        var st = s.Fs.Lstat(home);
        if (st is null) return ("missing", null);
        if (st.Value.IsLink) return ("link", s.Fs.ReadLink(home));
        return (st.Value.IsDir ? "directory" : "file", null);
    }

    /// <summary>Where `conda create` puts environments: CONDA_ENVS_PATH, else envs_dirs of the persistent .condarc, else ~/.conda/envs.</summary>
    private (string Path, bool Persistent) CondaEnvs(UserSpec u, string home, ShellFacts shell, string homeKind, string? homeTarget)
    {
        // Conda reads ~/.condarc: the persistent copy unless the home is a real directory on the SSD.
        string[] condarcs = homeKind == "directory" ? [$"{home}/.condarc"] : [$"{u.DataDir}/.condarc", $"{u.DataDir}/dotfiles/.condarc"];
        var envs = shell.Var("CONDA_ENVS_PATH")?.Split(':')[0] ?? EnvsDirs(condarcs) ?? $"{home}/.conda/envs";
        envs = envs.Replace("$HOME", home).Replace("~/", home + "/");
        var onData = envs == "/data" || envs.StartsWith("/data/")
            || ((envs == home || envs.StartsWith(home + "/")) && homeKind == "link" && homeTarget is not null && homeTarget.StartsWith("/data/"));
        return (envs, onData);
    }

    /// <summary>The first entry of envs_dirs in the first .condarc found, read without following links.</summary>
    private string? EnvsDirs(IEnumerable<string> condarcs)
    {
        string? text;
        try { text = condarcs.Select(s.Fs.ReadText).FirstOrDefault(t => t is not null); }
        catch (SysException) { return null; }
        if (text is null) return null;
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (!lines[i].TrimStart().StartsWith("envs_dirs:")) continue;
            var inline = lines[i][(lines[i].IndexOf(':') + 1)..].Trim().Trim('[', ']').Split(',')[0].Trim().Trim('"', '\'');
            if (inline.Length > 0) return inline;
            if (i + 1 < lines.Length && lines[i + 1].TrimStart().StartsWith('-'))
                return lines[i + 1].TrimStart()[1..].Trim().Trim('"', '\'');
        }
        return null;
    }

    private static HashSet<int> UserGids(Accounts.AccountDb db, string name, int gid)
    {
        var set = db.Groups.Where(g => g.Members.Contains(name)).Select(g => g.Gid).ToHashSet();
        if (gid >= 0) set.Add(gid);
        return set;
    }

    private static bool CanWrite(FileStat st, int uid, HashSet<int> gids) =>
        st.Uid == uid ? (st.Perm & O(200)) != 0 : gids.Contains((int)st.Gid) ? (st.Perm & O(20)) != 0 : (st.Perm & O(2)) != 0;

    /// <summary>Disk usage of the user's data, like du -s (hard links once, links never followed): the counter aica du uses.</summary>
    private (long Bytes, long Files, int Unreadable) Measure(string dir)
    {
        using var fd = s.Fs.TryOpenDir(dir, out _);
        if (fd is null) return (0, 0, 1);
        var counter = new Caches.UsageCounter();
        var usage = counter.Add(fd, s.Fs.Host(dir));
        return (usage.Disk, usage.Files, counter.Problems.Count);
    }
}
