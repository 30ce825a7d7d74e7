using Aica.Accounts;
using Aica.Config;
using Aica.Engine;
using Aica.Site;
using static Aica.Native.Perms;

namespace Aica.Data;

/// <summary>The shared trees of SPEC §3 (what <c>aica perms</c> normalises) and who counts as a member.</summary>
public static class SharedTree
{
    /// <summary>Each shared root with its top-level mode: caches root:G 2775, datasets and code root:G 3775.</summary>
    public static IReadOnlyList<(string Path, uint Mode)> Roots(AicaConfig c) => c.SharedRoots;

    /// <summary>The shared root that contains <paramref name="path"/> (itself or an ancestor), or null.</summary>
    public static string? RootOf(AicaConfig c, string path) =>
        Roots(c).Select(r => r.Path).Where(r => path == r || path.StartsWith(r + "/", StringComparison.Ordinal))
            .OrderByDescending(r => r.Length).FirstOrDefault();

    /// <summary>uids of the group's members: registered users and accounts in the group (primary or supplementary).</summary>
    public static HashSet<uint> MemberUids(AicaConfig c, Registry registry, AccountDb db)
    {
        var set = new HashSet<uint>();
        foreach (var e in registry.Users)
        {
            if (e.Uid is { } uid) set.Add((uint)uid);
            else if (db.User(e.Name) is { } live) set.Add((uint)live.Uid);
        }
        foreach (var m in db.MembersOf(c.Group))
            if (db.User(m) is { } u) set.Add((uint)u.Uid);
        set.Remove(0);
        return set;
    }

    /// <summary>Groups no account but root belongs to (as a listed member or by primary gid).</summary>
    public static HashSet<uint> RootOnlyGids(AccountDb db)
    {
        var set = new HashSet<uint>();
        foreach (var g in db.Groups)
        {
            if (g.Members.Any(m => m != "root")) continue;
            if (db.Users.Any(u => u.Gid == g.Gid && u.Uid != 0)) continue;
            set.Add((uint)g.Gid);
        }
        return set;
    }

    /// <summary>The shared group's gid, or exit 2 when neither recorded nor present.</summary>
    public static uint RequireGid(AicaConfig c, AccountDb db) =>
        (uint)(DesiredStateBuilder.SharedGid(c, db)
               ?? throw AicaException.Usage($"group {c.Group} has no recorded gid and does not exist; run aica init first"));

    /// <summary>An owner given by name (config data.dataset_owner): root, a user name, or a numeric uid.</summary>
    public static uint ResolveOwner(string owner, AccountDb db)
    {
        if (owner == "root") return 0;
        if (uint.TryParse(owner, out var n)) return n;
        if (Names.ValidateUser(owner) is null && db.User(owner) is { } u) return (uint)u.Uid;
        throw AicaException.Usage($"data.dataset_owner '{Names.Printable(owner)}' is not an account");
    }
}
