using Aica.Contracts;
using Aica.Native;
using Aica.Users;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class UserCommands(CliContext cli)
{
    /// <summary>Create (or adopt an existing) account, set up its home per layout, register it. Running it twice changes nothing.</summary>
    /// <param name="user">User name (lower-case letters, digits, _ and -).</param>
    /// <param name="group">-g, The shared group (must be the server's, default from aica.toml).</param>
    /// <param name="uid">uid for a new account (default: the first free from 1000; retired uids are never reused). The private group gets gid = uid.</param>
    /// <param name="shell">Login shell for a new account.</param>
    /// <param name="layout">Home layout: symlink or hybrid (default from aica.toml).</param>
    /// <param name="pubkeyFile">An OpenSSH public key (.pub) to put in authorized_keys.</param>
    /// <param name="dryRun">-n, Print the plan; change nothing.</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("user add")]
    public async Task<int> Add([Argument] string user, string? group = null, int? uid = null, string? shell = null, string? layout = null,
        string? pubkeyFile = null, bool dryRun = false, CancellationToken cancellationToken = default)
    {
        using var s = cli.CreateServices();
        var r = await new UserService(s).Add(new UserAddOptions(user, group, uid, shell, layout, pubkeyFile, dryRun), cancellationToken);
        var o = cli.Output;
        var e = r.Entry;
        if (cli.Options.Json)
        {
            o.Json(new UserAddDoc("user add", e.Name, e.Uid!.Value, e.Gid!.Value, e.Shell, e.Layout, r.Mode, dryRun, r.RegistryChanged,
                dryRun ? Output.Rows(r.Planned) : Output.Rows(r.Applied!.Actions), [.. r.Problems], [.. r.Notes]), AicaJsonContext.Default.UserAddDoc);
        }
        else
        {
            if (dryRun) o.Planned(r.Planned); else o.Applied(r.Applied!.Actions);
            if (r.RegistryChanged) o.Line(dryRun ? "PLAN" : "DONE", $"registry: {e.Render()}");
            foreach (var p in r.Problems) o.Problem("FAIL", p);
            foreach (var n in r.Notes) o.Line("INFO", n);
            var changes = dryRun ? r.Planned.Count : r.Applied!.Actions.Count(a => a.Ok);
            o.Summary(r.NoChanges ? $"user add {e.Name}: no changes ({r.Mode}, uid {e.Uid}, {e.Layout})"
                : $"user add {e.Name}{(dryRun ? " (dry run)" : "")}: {r.Mode} uid {e.Uid} gid {e.Gid}, layout {e.Layout}, {changes} changes" +
                  (dryRun ? " planned" : $", {r.Applied!.Actions.Count(a => !a.Ok)} failed"));
        }
        return r.Failed ? ExitCodes.Failed : ExitCodes.Ok;
    }

    /// <summary>Unregister, remove the account and the SSD home; --purge moves /data/users/U to a backup. The uid is retired.</summary>
    /// <param name="user">User name.</param>
    /// <param name="purge">Also move /data/users/U to /data/admin/backups/removed-U_TIME/ (nothing is deleted).</param>
    /// <param name="yes">-y, Do not ask (required without a terminal).</param>
    /// <param name="force">Remove even with running processes.</param>
    /// <param name="dryRun">-n, Print the plan; change nothing.</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("user remove")]
    public async Task<int> Remove([Argument] string user, bool purge = false, bool yes = false, bool force = false, bool dryRun = false,
        CancellationToken cancellationToken = default)
    {
        using var s = cli.CreateServices();
        var svc = new UserService(s);
        if (!dryRun)
        {
            var preview = await svc.Remove(new UserRemoveOptions(user, purge, force, DryRun: true), cancellationToken);
            Confirm(yes, $"remove {user}: {string.Join("; ", preview.Steps)}?");
        }
        var r = await svc.Remove(new UserRemoveOptions(user, purge, force, dryRun), cancellationToken);
        var o = cli.Output;
        if (cli.Options.Json)
        {
            o.Json(new UserRemoveDoc("user remove", r.Name, r.Uid, r.DryRun, [.. r.Steps], r.Backup), AicaJsonContext.Default.UserRemoveDoc);
        }
        else
        {
            foreach (var st in r.Steps) o.Line(dryRun ? "PLAN" : "DONE", st);
            o.Summary(dryRun ? $"user remove {user} (dry run): {r.Steps.Count} steps planned" : $"user remove {user}: done{(r.Backup is null ? "" : $", backup in {r.Backup}")}");
        }
        return ExitCodes.Ok;
    }

    /// <summary>The registry joined with reality: ok, missing account, id mismatch, wrong group, not a member, home conflict, unregistered member, orphan data.</summary>
    [Command("user list")]
    public int List()
    {
        using var s = cli.CreateServices();
        var rows = new UserService(s).List();
        var o = cli.Output;
        if (cli.Options.Json)
        {
            o.Json(new UserListDoc(rows.Count, [.. rows.Select(r => new UserListRow(r.Name, r.Uid, r.Gid, r.Shell, r.Layout, r.Status, r.Detail))]),
                AicaJsonContext.Default.UserListDoc);
            return ExitCodes.Ok;
        }
        foreach (var r in rows)
        {
            var line = $"{r.Name,-16} {(r.Uid?.ToString() ?? "-"),6} {r.Layout ?? "-",-8} {r.Status}{(r.Detail.Length > 0 ? $"  ({r.Detail})" : "")}";
            if (r.Status == "ok") o.Line("OK", line); else o.Problem("WARN", line);
        }
        o.Summary($"user list: {rows.Count(r => r.Status == "ok")} ok, {rows.Count(r => r.Status != "ok")} need attention");
        return ExitCodes.Ok;
    }

    /// <summary>Recursive, link-safe, parallel repair of /data/users/U: owner U, group G, directories setgid; no mode is widened.</summary>
    /// <param name="user">User name.</param>
    /// <param name="dryRun">-n, Count what would change; change nothing.</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("user fix")]
    public int Fix([Argument] string user, bool dryRun = false, CancellationToken cancellationToken = default)
    {
        using var s = cli.CreateServices();
        var r = new UserFix(s).Run(user, dryRun, cancellationToken);
        var o = cli.Output;
        if (cli.Options.Json)
        {
            o.Json(new UserFixDoc("user fix", r.User, r.Path, r.DryRun, r.Scanned, r.Changed, r.OwnerFixed, r.GroupFixed, r.ModeFixed,
                [.. r.Skipped], [.. r.Tampered], [.. r.Errors], Math.Round(r.DurationMs, 1)), AicaJsonContext.Default.UserFixDoc);
        }
        else
        {
            foreach (var x in r.Tampered) o.Problem("WARN", $"tampered: {x} (never followed)");
            foreach (var x in r.Skipped) o.Problem("WARN", x);
            foreach (var x in r.Errors) o.Problem("FAIL", x);
            o.Summary($"user fix {r.User}{(r.DryRun ? " (dry run)" : "")}: {r.Scanned} entries, {r.Changed} {(r.DryRun ? "to change" : "changed")} " +
                $"(owner {r.OwnerFixed}, group {r.GroupFixed}, setgid {r.ModeFixed}), {r.Skipped.Total} skipped, {r.Tampered.Total} tampered, {r.Errors.Total} errors");
        }
        return r.Errors.Count > 0 || r.Tampered.Count > 0 ? ExitCodes.Failed : ExitCodes.Ok;
    }

    /// <summary>Convert a user between the symlink and hybrid layouts with a full backup first; --rollback restores it exactly.</summary>
    /// <param name="user">User name.</param>
    /// <param name="to">Target layout: symlink or hybrid.</param>
    /// <param name="rollback">Undo the user's latest migration (also one that was interrupted).</param>
    /// <param name="yes">-y, Do not ask (required without a terminal).</param>
    /// <param name="dryRun">-n, Print the plan; change nothing.</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("user migrate")]
    public async Task<int> Migrate([Argument] string user, string? to = null, bool rollback = false, bool yes = false, bool dryRun = false,
        CancellationToken cancellationToken = default)
    {
        if (rollback && to is not null) throw AicaException.Usage("give either --to or --rollback");
        using var s = cli.CreateServices();
        var svc = new MigrateService(s);
        if (!dryRun)
        {
            var preview = await svc.Run(new MigrateOptions(user, to, rollback, DryRun: true), cancellationToken);
            if (preview.Steps.Count > 0) Confirm(yes, $"{(rollback ? "roll back" : "migrate")} {user} {FromLabel(preview)} -> {preview.To}?");
        }
        var r = await svc.Run(new MigrateOptions(user, to, rollback, dryRun), cancellationToken);
        var o = cli.Output;
        if (cli.Options.Json)
        {
            o.Json(new UserMigrateDoc("user migrate", r.Name, r.From, r.To, r.RolledBack, r.DryRun, r.Journal, [.. r.Steps], [.. r.Problems], [.. r.Warnings ?? []]),
                AicaJsonContext.Default.UserMigrateDoc);
        }
        else
        {
            foreach (var x in r.Steps) o.Line(dryRun ? "PLAN" : "DONE", x);
            foreach (var x in r.Warnings ?? []) o.Problem("WARN", x);
            foreach (var x in r.Problems) o.Problem("FAIL", x);
            o.Summary(r.Steps.Count == 0 ? $"user migrate {user}: already {r.To}, no changes"
                : $"user migrate {user}{(r.RolledBack ? " --rollback" : "")}{(dryRun ? " (dry run)" : "")}: {FromLabel(r)} -> {r.To}" +
                  (r.Journal is null ? "" : $", journal {r.Journal}") + (r.Problems.Count > 0 ? ", FAILED" : ""));
        }
        return r.ExitCode;
    }

    /// <summary>The same layout on both sides with steps to take: a symlink user whose home is still a real SSD folder.</summary>
    private static string FromLabel(MigrateResult r) => r.From == r.To && r.Steps.Count > 0 ? $"{r.From} (home still a real folder on the SSD)" : r.From;

    /// <summary>Destructive commands ask on a terminal; without one they need --yes (a prompt never hangs).</summary>
    private void Confirm(bool yes, string question)
    {
        if (yes) return;
        if (!Sys.IsTerminal(0) || !ReferenceEquals(cli.Err, Terminal.Err))
            throw AicaException.Usage("not a terminal: add --yes to confirm");
        cli.Err.Write($"{question} [y/N] ");
        Terminal.UsingConsoleInput();
        var answer = Console.ReadLine()?.Trim().ToLowerInvariant();
        if (answer is not ("y" or "yes")) throw new AicaException("cancelled", ExitCodes.Failed);
    }
}
