using System.Globalization;
using Aica.IO;

namespace Aica.Accounts;

public sealed record PasswdEntry(string Name, int Uid, int Gid, string Home, string Shell);
public sealed record GroupEntry(string Name, int Gid, IReadOnlyList<string> Members);

/// <summary>
/// A snapshot of /etc/passwd and /etc/group, parsed as text (SPEC §6.8: no NSS in-process; a static glibc
/// crashes when NSS loads a module). Names missing from the files are looked up with <c>getent</c> as a child.
/// </summary>
public sealed class AccountDb
{
    private readonly Dictionary<string, PasswdEntry> _users = new();
    private readonly Dictionary<int, PasswdEntry> _byUid = new();
    private readonly Dictionary<string, GroupEntry> _groups = new();
    private readonly Dictionary<int, GroupEntry> _byGid = new();
    private readonly Func<string, string, string?>? _getent;

    public AccountDb(string? passwd, string? group, Func<string, string, string?>? getent = null)
    {
        _getent = getent;
        foreach (var e in ParsePasswd(passwd ?? "")) { _users.TryAdd(e.Name, e); _byUid.TryAdd(e.Uid, e); }
        foreach (var g in ParseGroup(group ?? "")) { _groups.TryAdd(g.Name, g); _byGid.TryAdd(g.Gid, g); }
    }

    public static AccountDb Load(RootedFs fs, ProcessRunner runner)
    {
        // getent only on the real root: under --root the files are the whole truth.
        Func<string, string, string?>? getent = fs.IsRealRoot
            ? (db, key) => { var r = runner.Run("getent", db, key); return r.Ok ? r.StdOut.Trim() : null; }
            : null;
        return new AccountDb(fs.ReadText("/etc/passwd"), fs.ReadText("/etc/group"), getent);
    }

    public IEnumerable<PasswdEntry> Users => _users.Values;
    public IEnumerable<GroupEntry> Groups => _groups.Values;

    public PasswdEntry? User(string name)
    {
        if (_users.TryGetValue(name, out var e)) return e;
        var line = _getent?.Invoke("passwd", name);
        var parsed = line is null ? null : ParsePasswd(line).FirstOrDefault(x => x.Name == name);
        if (parsed is not null) { _users[name] = parsed; _byUid.TryAdd(parsed.Uid, parsed); }
        return parsed;
    }

    public PasswdEntry? UserById(int uid) => _byUid.GetValueOrDefault(uid);

    public GroupEntry? Group(string name)
    {
        if (_groups.TryGetValue(name, out var g)) return g;
        var line = _getent?.Invoke("group", name);
        var parsed = line is null ? null : ParseGroup(line).FirstOrDefault(x => x.Name == name);
        if (parsed is not null) { _groups[name] = parsed; _byGid.TryAdd(parsed.Gid, parsed); }
        return parsed;
    }

    public GroupEntry? GroupById(int gid) => _byGid.GetValueOrDefault(gid);

    /// <summary>Member through the group's list or as primary group.</summary>
    public bool IsMember(string user, string group)
    {
        var g = Group(group);
        if (g is null) return false;
        if (MemberSet(g).Contains(user)) return true;
        return User(user)?.Gid == g.Gid;
    }

    // A group's member list as a set, built once: recover checks every registered user against the shared group's
    // list (1000 users, 1000 members: a million string comparisons as a list).
    private readonly Dictionary<GroupEntry, HashSet<string>> _memberSets = new(ReferenceEqualityComparer.Instance);

    private HashSet<string> MemberSet(GroupEntry g)
    {
        if (!_memberSets.TryGetValue(g, out var set)) _memberSets[g] = set = new HashSet<string>(g.Members, StringComparer.Ordinal);
        return set;
    }

    public IEnumerable<string> MembersOf(string group)
    {
        var g = Group(group);
        if (g is null) return [];
        return g.Members.Concat(_users.Values.Where(u => u.Gid == g.Gid).Select(u => u.Name)).Distinct();
    }

    public static IEnumerable<PasswdEntry> ParsePasswd(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var f = raw.TrimEnd('\r').Split(':');
            if (f.Length < 7 || f[0].Length == 0) continue;
            if (!int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out var uid)) continue;
            if (!int.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out var gid)) continue;
            yield return new PasswdEntry(f[0], uid, gid, f[5], f[6]);
        }
    }

    public static IEnumerable<GroupEntry> ParseGroup(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var f = raw.TrimEnd('\r').Split(':');
            if (f.Length < 4 || f[0].Length == 0) continue;
            if (!int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out var gid)) continue;
            yield return new GroupEntry(f[0], gid, f[3].Split(',', StringSplitOptions.RemoveEmptyEntries));
        }
    }
}
