using Aica.Accounts;
using Aica.Config;

namespace Aica.Site;

public sealed record CaptureResult(bool Written, int Users, int Groups, IReadOnlyList<string> Differences, string? Replaced, bool DryRun);

/// <summary>
/// aica accounts capture (aica-capture.service's ExecStop at shutdown, hourly as a scheduled job, and after user add/remove): the live
/// account state of the registered users and the lab's groups into <see cref="AccountStore.Path"/>. A refused store is
/// not overwritten unless forced (the admin looks at it first); with force, the refused file's content is not trusted
/// for anything the live files do not show.
/// </summary>
public sealed class CaptureService(AicaServices s)
{
    public CaptureResult Run(bool force, bool dryRun, CancellationToken ct)
    {
        if (!dryRun) s.RequireRoot("accounts capture");
        s.RequireDataMounted();
        using var _ = dryRun ? null : s.Lock(ct);
        return CaptureHeld(force, dryRun);
    }

    /// <summary>For commands that already hold aica's lock (user add, user remove).</summary>
    public CaptureResult CaptureHeld(bool force = false, bool dryRun = false)
    {
        var config = s.LoadConfig();
        var registry = s.Registry.Load();
        var stored = s.AccountStore.Read();
        if (stored.Unreadable is { } unreadable) throw AicaException.Refused($"cannot read the stored account state: {unreadable}");
        if (stored.Refused is { } why && !force)
            throw new AicaException($"stored account state refused: {why}; not overwritten (inspect it; aica accounts capture --force replaces it)", ExitCodes.Failed);
        var trusted = stored.Refused is null ? stored : StoredAccounts.None;
        var registered = registry.Users.Select(u => new AccountCapture.Registered(u.Name, u.Uid)).ToList();
        var now = new AccountStateItem(trusted, registered, config.Group).Capture(s.Context(config));
        var diffs = AccountCapture.Differences(trusted.State, now);
        var written = !dryRun && s.AccountStore.Write(now, trusted.Bytes);
        if (written) s.Log("accounts", $"captured {now.Users.Count} users, {now.Groups.Count} lab groups ({diffs.Count} changes{(stored.Refused is null ? "" : "; replaced a refused file")})");
        return new CaptureResult(written, now.Users.Count, now.Groups.Count, diffs, stored.Refused, dryRun);
    }

    /// <summary>After an aica write that changed accounts: capture, or one line saying why not (never fails the command).</summary>
    public string? AfterAccountChange()
    {
        try { CaptureHeld(); return null; }
        catch (Exception e) when (e is AicaException or Native.SysException or IOException)
        {
            return $"account state not captured: {e.Message}";
        }
    }
}
