using Aica.Contracts;
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
        if (cli.Options.Json) { o.Json(EnvJson.Document(r), AicaJsonContext.Default.EnvDoc); return 0; }

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
    public static EnvDoc Document(EnvReport r) => new(
        new EnvUser(r.User, r.Uid, r.Gid, r.Group, r.Member, r.Registered, r.Layout),
        new EnvPaths(r.Home, r.HomeKind, r.HomeTarget, r.DataDir, r.DataExists, r.CondaRoot, r.CondaInstalled, r.CondaVersion, r.CondaEnvs, r.CondaEnvsPersistent),
        [.. r.Caches.Select(c => new EnvCacheRow(c.Id, c.Variable, c.Expected, c.Value, c.Set, c.Exists, c.Writable))],
        Ordered(r.UserCaches),
        new EnvShell(r.Umask, r.UmaskOk, r.VariablesSet, r.PathHasConda),
        r.Disk is not { } d ? null : new EnvDiskRow(d.DataBytes, d.DataFiles, d.Unreadable, d.FsSize, d.FsUsed,
            Math.Round(d.ShareOfUsed, 2), Math.Round(d.ShareOfSize, 2), r.RegisteredUsers),
        [.. r.Hints]);

    /// <summary>Name to path in the report's order (a Dictionary built by adding only keeps it).</summary>
    private static Dictionary<string, string> Ordered(IEnumerable<(string Name, string Path)> pairs)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (n, p) in pairs) d[n] = p;
        return d;
    }
}
