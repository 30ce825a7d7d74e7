using Aica.Integration;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class EnvCommand(CliContext cli)
{
    /// <summary>Your environment: layout, where home, data, conda envs and caches live, whether this shell has the umask and variables, your disk usage, hints. Any user; read-only.</summary>
    /// <param name="noDisk">Skip measuring your data (fast).</param>
    [Command("env")]
    public int Run(bool noDisk = false)
    {
        using var s = cli.CreateServices();
        var r = new EnvService(s).Run(ShellFacts.Current(), !noDisk);
        var o = cli.Output;
        if (cli.Options.Json) { o.Json(j => EnvJson.Write(j, r)); return 0; }

        o.Line("INFO", $"user {r.User} (uid {r.Uid}), {(r.Member ? "member of" : "NOT a member of")} {r.Group}, {(r.Registered ? $"layout {r.Layout}" : "not registered")}");
        o.Line("INFO", $"home        {r.Home} ({r.HomeKind}{(r.HomeTarget is null ? "" : $" -> {r.HomeTarget}")})");
        o.Line("INFO", $"data        {r.DataDir}{(r.DataExists ? "" : " (missing)")}");
        o.Line("INFO", $"conda       {r.CondaRoot} ({(r.CondaInstalled ? r.CondaVersion ?? "installed" : "not installed")})");
        o.Line(r.CondaEnvsPersistent || r.Uid == 0 ? "INFO" : "WARN", $"conda envs  {r.CondaEnvs} ({(r.CondaEnvsPersistent ? "on /data, kept across reboots" : "on the SSD, lost at reboot")})");
        foreach (var c in r.Caches)
            o.Line(c.Set ? "OK" : "WARN", $"{c.Variable,-18} {(c.Value ?? "(not set)")}{(c.Set ? "" : $"  want {c.Expected}")}{(c.Exists ? c.Writable ? "" : "  (not writable by you)" : "  (missing)")}");
        foreach (var (n, p) in r.UserCaches) o.Line("INFO", $"{n,-18} {p} (yours)");
        o.Line(r.UmaskOk ? "OK" : "WARN", $"umask       {r.Umask ?? "unknown"}");
        o.Line(r.PathHasConda ? "OK" : "WARN", $"PATH        {(r.PathHasConda ? "has" : "lacks")} {r.CondaRoot}/condabin");
        if (r.Disk is { } d)
            o.Line("INFO", $"disk        {Human(d.DataBytes)} in {d.DataFiles} files; {d.ShareOfUsed:0.#}% of the {Human(d.FsUsed)} used on /data ({d.ShareOfSize:0.#}% of its {Human(d.FsSize)}), {r.RegisteredUsers} registered users");
        foreach (var h in r.Hints) o.Problem("HINT", h);
        o.Summary(r.Hints.Count == 0 ? "env: everything is set" : $"env: {r.Hints.Count} hint{(r.Hints.Count == 1 ? "" : "s")}");
        return 0;
    }

    internal static string Human(long b)
    {
        string[] u = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double v = b;
        var i = 0;
        while (v >= 1024 && i < u.Length - 1) { v /= 1024; i++; }
        return i == 0 ? $"{b} B" : $"{v:0.#} {u[i]}";
    }
}

internal static class EnvJson
{
    public static void Write(System.Text.Json.Utf8JsonWriter j, EnvReport r)
    {
        j.WriteStartObject();
        j.WriteStartObject("user");
        j.WriteString("name", r.User); j.WriteNumber("uid", r.Uid); j.WriteNumber("gid", r.Gid);
        j.WriteString("group", r.Group); j.WriteBoolean("member", r.Member); j.WriteBoolean("registered", r.Registered);
        j.WriteString("layout", r.Layout);
        j.WriteEndObject();
        j.WriteStartObject("paths");
        j.WriteString("home", r.Home); j.WriteString("home_kind", r.HomeKind);
        if (r.HomeTarget is null) j.WriteNull("home_target"); else j.WriteString("home_target", r.HomeTarget);
        j.WriteString("data", r.DataDir); j.WriteBoolean("data_exists", r.DataExists);
        j.WriteString("conda_root", r.CondaRoot); j.WriteBoolean("conda_installed", r.CondaInstalled);
        if (r.CondaVersion is null) j.WriteNull("conda_version"); else j.WriteString("conda_version", r.CondaVersion);
        j.WriteString("conda_envs", r.CondaEnvs); j.WriteBoolean("conda_envs_persistent", r.CondaEnvsPersistent);
        j.WriteEndObject();
        j.WriteStartArray("caches");
        foreach (var c in r.Caches)
        {
            j.WriteStartObject();
            j.WriteString("id", c.Id); j.WriteString("variable", c.Variable); j.WriteString("expected", c.Expected);
            if (c.Value is null) j.WriteNull("value"); else j.WriteString("value", c.Value);
            j.WriteBoolean("set", c.Set); j.WriteBoolean("exists", c.Exists); j.WriteBoolean("writable", c.Writable);
            j.WriteEndObject();
        }
        j.WriteEndArray();
        j.WriteStartObject("user_caches");
        foreach (var (n, p) in r.UserCaches) j.WriteString(n, p);
        j.WriteEndObject();
        j.WriteStartObject("shell");
        if (r.Umask is null) j.WriteNull("umask"); else j.WriteString("umask", r.Umask);
        j.WriteBoolean("umask_ok", r.UmaskOk); j.WriteBoolean("variables_set", r.VariablesSet); j.WriteBoolean("path_has_conda", r.PathHasConda);
        j.WriteEndObject();
        if (r.Disk is not { } d) j.WriteNull("disk");
        else
        {
            j.WriteStartObject("disk");
            j.WriteNumber("data_bytes", d.DataBytes); j.WriteNumber("data_files", d.DataFiles); j.WriteNumber("unreadable_dirs", d.Unreadable);
            j.WriteNumber("fs_size_bytes", d.FsSize); j.WriteNumber("fs_used_bytes", d.FsUsed);
            j.WriteNumber("share_of_used_pct", Math.Round(d.ShareOfUsed, 2)); j.WriteNumber("share_of_size_pct", Math.Round(d.ShareOfSize, 2));
            j.WriteNumber("registered_users", r.RegisteredUsers);
            j.WriteEndObject();
        }
        j.WriteStartArray("hints"); foreach (var h in r.Hints) j.WriteStringValue(h); j.WriteEndArray();
        j.WriteEndObject();
    }
}
