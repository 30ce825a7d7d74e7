using System.Globalization;
using Aica.Config;

namespace Aica.Accounts;

/// <summary>
/// Computes what a capture stores, from the live account files and the previous state: the live record of every
/// registered user whose account exists (with its recorded uid), and the lab's own groups. What cannot be seen live
/// is kept, never forgotten by accident: a registered user whose account is missing keeps the stored record, a
/// membership in a system group missing from the image stays, and while any registered account is missing (a full
/// reset not yet recovered) no stored lab group is dropped.
/// </summary>
public static class AccountCapture
{
    public sealed record Registered(string Name, int? Uid);

    public static AccountState Compute(AccountTexts live, IReadOnlyList<Registered> registered, string sharedGroup, AccountState? previous)
    {
        var passwd = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var f in Lines(live.Passwd, 7)) passwd.TryAdd(f[0], f);
        var shadow = new Dictionary<string, ShadowFields>(StringComparer.Ordinal);
        foreach (var f in Lines(live.Shadow, 9)) if (ShadowFields.FromLine(f) is { } s) shadow.TryAdd(f[0], s);
        var groups = new List<(string Name, int Gid, string[] Members)>();
        var groupNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in Lines(live.Group, 4))
            if (int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out var gid) && groupNames.Add(f[0]))
                groups.Add((f[0], gid, f[3].Split(',', StringSplitOptions.RemoveEmptyEntries)));

        var membership = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var g in groups)
            foreach (var m in g.Members)
                (membership.TryGetValue(m, out var l) ? l : membership[m] = []).Add(g.Name);
        var previousLab = previous?.Groups.Select(g => g.Name).ToHashSet(StringComparer.Ordinal) ?? [];

        var users = new List<StoredUser>();
        var privateGids = new HashSet<int>();
        var missing = false;
        foreach (var r in registered)
        {
            var old = previous?.User(r.Name);
            if (passwd.TryGetValue(r.Name, out var p) && int.TryParse(p[2], NumberStyles.None, CultureInfo.InvariantCulture, out var uid)
                && (r.Uid is null || r.Uid == uid))
            {
                if (int.TryParse(p[3], NumberStyles.None, CultureInfo.InvariantCulture, out var pgid)) privateGids.Add(pgid);
                var member = membership.GetValueOrDefault(r.Name) ?? [];
                // A system group the image no longer has: the membership stays stored (it is not the admin's removal).
                var keep = old?.Groups.Where(g => !groupNames.Contains(g) && !previousLab.Contains(g)) ?? [];
                var all = member.Concat(keep).Where(AccountState.ValidName).Distinct().OrderBy(g => g, StringComparer.Ordinal).ToList();
                var sh = shadow.GetValueOrDefault(r.Name) ?? old?.Shadow;
                var rec = sh is null ? null : new StoredUser(r.Name, uid, p[4], p[6], all, sh);
                if (rec is not null && AccountState.Problem(rec) is null) { users.Add(rec); continue; }
                if (old is not null) users.Add(old);
                continue;
            }
            missing = true;
            if (old is not null && (r.Uid is null || r.Uid == old.Uid)) users.Add(old);
        }

        var registeredNames = registered.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        var lab = new List<StoredGroup>();
        foreach (var g in groups)
        {
            if (g.Gid is < Names.MinUid or > Names.MaxUid || g.Name == sharedGroup) continue;
            if (registeredNames.Contains(g.Name) || privateGids.Contains(g.Gid)) continue; // a registered user's private group
            if (passwd.TryGetValue(g.Name, out var owner) && owner[3] == g.Gid.ToString(CultureInfo.InvariantCulture)) continue; // someone else's private group
            var rec = new StoredGroup(g.Name, g.Gid, g.Members.Where(AccountState.ValidName).ToList());
            if (AccountState.Problem(rec) is null) lab.Add(rec);
        }
        if (missing && previous is not null)
            lab.AddRange(previous.Groups.Where(g => !groupNames.Contains(g.Name)));
        return new AccountState(users, lab);
    }

    /// <summary>What differs between the stored state and a fresh capture, in words (never a hash).</summary>
    public static List<string> Differences(AccountState? stored, AccountState now)
    {
        var diffs = new List<string>();
        var old = stored ?? AccountState.Empty;
        foreach (var u in now.Users)
        {
            var o = old.User(u.Name);
            if (o is null) { diffs.Add($"{u.Name}: not captured yet"); continue; }
            var what = new List<string>();
            if (o.Uid != u.Uid) what.Add($"uid {o.Uid} -> {u.Uid}");
            if (o.Shadow.Password != u.Shadow.Password)
                what.Add(o.Shadow.Locked == u.Shadow.Locked ? "password changed"
                    : o.Shadow.Password.TrimStart('!') is "" or "*" ? "password set"
                    : u.Shadow.Locked ? "locked" : "unlocked");
            if (o.Shadow != u.Shadow && o.Shadow with { Password = "" } != u.Shadow with { Password = "" }) what.Add("password aging changed");
            if (o.Shell != u.Shell) what.Add($"shell {o.Shell} -> {u.Shell}");
            if (o.Gecos != u.Gecos) what.Add("GECOS changed");
            // The common case (nothing changed) without two set differences per user.
            var same = u.Groups.SequenceEqual(o.Groups);
            var added = same ? [] : u.Groups.Except(o.Groups).ToList();
            var removed = same ? [] : o.Groups.Except(u.Groups).ToList();
            if (added.Count > 0) what.Add($"groups +{string.Join(",+", added)}");
            if (removed.Count > 0) what.Add($"groups -{string.Join(",-", removed)}");
            if (what.Count > 0) diffs.Add($"{u.Name}: {string.Join(", ", what)}");
        }
        foreach (var o in old.Users.Where(o => now.User(o.Name) is null)) diffs.Add($"{o.Name}: stored but no longer registered");
        var nowGroups = now.Groups.ToDictionary(g => g.Name);
        foreach (var g in now.Groups)
        {
            var o = old.Groups.FirstOrDefault(x => x.Name == g.Name);
            if (o is null) diffs.Add($"group {g.Name} (gid {g.Gid}): not captured yet");
            else if (o.Gid != g.Gid || !o.Members.SequenceEqual(g.Members)) diffs.Add($"group {g.Name}: gid or members changed");
        }
        foreach (var o in old.Groups.Where(o => !nowGroups.ContainsKey(o.Name))) diffs.Add($"group {o.Name}: stored but gone");
        return diffs;
    }

    private static IEnumerable<string[]> Lines(string text, int min)
    {
        foreach (var raw in text.Split('\n'))
        {
            if (raw.Length == 0 || raw[0] is '+' or '-' or '#') continue;
            var f = raw.Split(':');
            if (f.Length >= min && f[0].Length > 0) yield return f;
        }
    }
}
