using Aica.Engine;

namespace Aica.Accounts;

/// <summary>
/// Items that are lines of the account files. During recover, the missing ones are written together in one locked
/// write (<see cref="StateEngine"/>'s batch pass); <see cref="AddTo"/> is called only when Check found the item missing.
/// </summary>
public interface IAccountLines
{
    /// <summary>Adds this item's lines to the batch; false when it cannot go there (it is then applied on its own).</summary>
    bool AddTo(AccountBatch batch, EngineContext ctx);
}

/// <summary>
/// A group with a fixed gid (the shared group, a user's private group), or one of the lab's own groups restored from
/// the stored account state (<paramref name="members"/> not null): that one is created with its members when missing;
/// a gid or member change on a live one is the account-state drift (<c>accounts.captured</c>), not a failure.
/// </summary>
public sealed class GroupItem(string name, int gid, string id = "group", IReadOnlyList<string>? members = null) : Item, IAccountLines
{
    public override string Id => id;
    public override string Subject => name;
    public override string Describe => $"group {name} (gid {gid})";

    public override Drift? Check(EngineContext ctx)
    {
        var g = ctx.Db.Group(name);
        if (g is null)
        {
            var other = ctx.Db.GroupById(gid);
            return other is null
                ? new Drift($"group {name} is missing", "aica recover creates it")
                : new Drift($"group {name} is missing and gid {gid} is taken by group {other.Name}", $"free gid {gid} or change it in aica.toml", Conflict: true);
        }
        if (members is not null) return null;
        return g.Gid == gid ? null : new Drift($"group {name} has gid {g.Gid}, recorded {gid}", $"groupmod -g {gid} {name} (then aica perms), or record {g.Gid}", Conflict: true);
    }

    public bool AddTo(AccountBatch batch, EngineContext ctx) => batch.TryAdd(new NewGroup(name, gid, members ?? []));

    public override async Task Apply(EngineContext ctx, Drift drift, CancellationToken ct)
    {
        try
        {
            if (members is { Count: > 0 })
            {
                var batch = new AccountBatch();
                batch.TryAdd(new NewGroup(name, gid, members));
                ctx.AccountFiles.Write(batch, ct);
            }
            else await ctx.Accounts.CreateGroup(name, gid, ct).ConfigureAwait(false);
        }
        finally { ctx.InvalidateAccounts(); } // a groupadd that failed may still have written: later checks read the files again
    }
}

/// <summary>
/// An account with its recorded uid and primary gid. An id mismatch or a taken uid is a conflict: nothing of the user
/// is touched. A missing account with a <paramref name="stored"/> state (captured before a full reset) comes back with
/// it: password hash and lock, aging, shell, GECOS, supplementary groups. Without one it is created locked, as
/// useradd does. An existing account is never changed from the stored state (that could undo a later passwd -l).
/// </summary>
public sealed class AccountItem(string name, int uid, int gid, string shell, string home, string sharedGroup, StoredUser? stored = null) : Item, IAccountLines
{
    public override string Id => "user.account";
    public override string Subject => name;
    public override string Describe => $"account {name} (uid {uid}, gid {gid}, member of {sharedGroup})";

    public override Drift? Check(EngineContext ctx)
    {
        var u = ctx.Db.User(name);
        if (u is null)
        {
            var other = ctx.Db.UserById(uid);
            return other is null
                ? new Drift($"account {name} is missing (uid {uid})", stored is null ? "aica recover recreates it" : "aica recover recreates it with its stored password, groups, shell and GECOS")
                : new Drift($"account {name} is missing and uid {uid} is taken by {other.Name}", $"resolve the uid clash for {name} by hand (recorded uid {uid})", Conflict: true);
        }
        if (u.Uid != uid || u.Gid != gid)
            return new Drift($"account {name} has uid/gid {u.Uid}/{u.Gid}, recorded {uid}/{gid}", $"fix the account or the registry line for {name}", Conflict: true);
        if (!ctx.Db.IsMember(name, sharedGroup))
            return new Drift($"{name} is not a member of {sharedGroup}", $"aica recover (usermod -a -G {sharedGroup} {name})");
        return null;
    }

    private NewUser New(EngineContext ctx) => stored is null
        ? new NewUser(name, uid, gid, "", home, shell, ShadowFields.NewLocked(ctx.Today, ctx.LoginDefs), [sharedGroup])
        : new NewUser(name, uid, gid, stored.Gecos, home, stored.Shell, stored.Shadow, [sharedGroup, .. stored.Groups.Where(g => g != sharedGroup)]);

    public bool AddTo(AccountBatch batch, EngineContext ctx) => ctx.Db.User(name) is null && batch.TryAdd(New(ctx));

    public override async Task Apply(EngineContext ctx, Drift drift, CancellationToken ct)
    {
        try
        {
            if (ctx.Db.User(name) is null)
            {
                if (stored is null)
                    await ctx.Accounts.CreateUser(name, uid, gid, shell, home, sharedGroup, ct).ConfigureAwait(false);
                else
                {
                    // Not useradd -p: the hash would show in the process list. One locked write, as the batch does.
                    var batch = new AccountBatch();
                    batch.TryAdd(New(ctx));
                    ctx.Notes.AddRange(ctx.AccountFiles.Write(batch, ct));
                }
            }
            else
                await ctx.Accounts.AddToGroup(name, sharedGroup, ct).ConfigureAwait(false);
        }
        finally { ctx.InvalidateAccounts(); } // a useradd that failed may still have written: later checks read the files again
    }
}
