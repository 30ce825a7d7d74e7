using System.Text;
using Aica.Accounts;
using Aica.Native;
using static Aica.Native.Flags;
using static Aica.Native.Perms;

namespace Aica.Engine;

internal static class Fmt
{
    public static string Mode(uint m) => Convert.ToString(m, 8).PadLeft(4, '0');
    public static string Owner(EngineContext ctx, uint uid, uint gid)
    {
        var u = ctx.Db.UserById((int)uid)?.Name ?? uid.ToString();
        var g = ctx.Db.GroupById((int)gid)?.Name ?? gid.ToString();
        return $"{u}:{g}";
    }
}

/// <summary>How an existing directory's mode is judged.</summary>
public enum ModePolicy
{
    /// <summary>Exactly the mode.</summary>
    Exact,
    /// <summary>
    /// Permission bits no wider than the desired ones, with the owner's rwx kept (a user's deliberate 0700 stays); the
    /// special bits (setgid, sticky) are exactly the desired ones, so a narrowed 0755 becomes 2750, not 0750.
    /// </summary>
    NoWider,
}

/// <summary>A directory with owner, group and mode. A link found in its place is removed as a link, never followed.</summary>
public sealed class DirItem(string path, uint uid, uint gid, uint mode, ModePolicy policy = ModePolicy.Exact, string id = "tree.dir") : Item
{
    public string Path { get; } = path;
    public uint Uid { get; } = uid;
    public uint Gid { get; } = gid;
    public uint Mode { get; } = mode;
    public override string Id => id;
    public override string Subject => Path;
    public override string Describe => $"directory {Path} {Fmt.Mode(Mode)}";

    private uint? WantedMode(uint perm)
    {
        if (policy == ModePolicy.Exact) return perm == Mode ? null : Mode;
        // Narrowing keeps only rwx bits the desired mode allows; setgid and sticky come from the desired mode, not
        // from what is there (perm & Mode alone would drop a setgid the directory never had).
        var narrowed = (perm & Mode & O(777)) | (Mode & O(700)) | (Mode & O(7000));
        return narrowed == perm ? null : narrowed;
    }

    public override Drift? Check(EngineContext ctx)
    {
        var st = ctx.Fs.Lstat(Path);
        if (st is null) return new Drift($"{Path} is missing", "aica recover (or aica init)");
        var s = st.Value;
        if (s.IsLink)
            return new Drift($"{Path} is a symbolic link to {ctx.Fs.ShowLink(Path)} (tampered: a directory belongs here)",
                "aica recover removes the link (as a link) and recreates the directory");
        if (!s.IsDir) return new Drift($"{Path} is not a directory", $"move {ctx.Fs.Host(Path)} away, then aica recover", Conflict: true);
        var problems = new List<string>();
        if (s.Uid != Uid || s.Gid != Gid) problems.Add($"owner {Fmt.Owner(ctx, s.Uid, s.Gid)}, want {Fmt.Owner(ctx, Uid, Gid)}");
        if (WantedMode(s.Perm) is { } m) problems.Add($"mode {Fmt.Mode(s.Perm)}, want {Fmt.Mode(m)}");
        return problems.Count == 0 ? null : new Drift($"{Path}: {string.Join(", ", problems)}", "aica recover (or aica perms for a whole tree)");
    }

    public override Task Apply(EngineContext ctx, Drift drift, CancellationToken ct)
    {
        var st = ctx.Fs.Lstat(Path);
        if (st is { IsLink: true })
        {
            var target = ctx.Fs.ShowLink(Path);
            ctx.Fs.Unlink(Path); // unlinkat on the link itself: its target is never touched
            ctx.Notes.Add($"removed planted link {Path} -> {target}");
            st = null;
        }
        if (st is null)
        {
            ctx.Fs.EnsureParents(Path);
            ctx.Fs.Mkdir(Path, Mode, Uid, Gid);
            return Task.CompletedTask;
        }
        using var fd = ctx.Fs.OpenDir(Path);
        var s = Sys.Fstat(fd, ctx.Fs.Host(Path));
        IO.SafeOps.SetOwnerModeOfDir(fd, ctx.Fs.Host(Path), Uid, Gid, WantedMode(s.Perm) ?? s.Perm);
        return Task.CompletedTask;
    }
}

/// <summary>A symlink with an exact target. An empty directory or another link in its place is replaced; data never is.</summary>
public sealed class LinkItem(string path, string target, string id = "home.link") : Item
{
    public string Path { get; } = path;
    public string Target { get; } = target;
    public override string Id => id;
    public override string Subject => Path;
    public override string Describe => $"link {Path} -> {Target}";

    public override Drift? Check(EngineContext ctx)
    {
        // readlink first: in the steady state it is the only system call (null: not a link, or nothing there).
        string? t;
        try { t = ctx.Fs.ReadLink(Path); }
        catch (SysException e) when (e.Errno is Flags.ENOENT or Flags.ENOTDIR) { t = null; } // no parent: Lstat says what is missing
        if (t is not null)
            return t == Target ? null : new Drift($"{Path} points to {ctx.Fs.ShowLink(Path)}, want {Target}", "aica recover replaces the link");
        var st = ctx.Fs.Lstat(Path);
        if (st is null) return new Drift($"{Path} is missing (want a link to {Target})", "aica recover");
        if (st.Value.IsLink) return new Drift($"{Path} changed while it was checked (now a link to {ctx.Fs.ShowLink(Path)})", "aica recover");
        if (st.Value.IsDir && IsEmptyDir(ctx))
            return new Drift($"{Path} is an empty directory, want a link to {Target}", "aica recover replaces it");
        // A real home found where the symlink layout wants its link (an account adopted with its SSD home): migrate
        // moves its files onto /data with a backup first; anything else is moved aside by hand.
        var fix = Id == "home.link" && st.Value.IsDir
            ? $"aica user migrate {System.IO.Path.GetFileName(Path)} --to symlink (moves its files into {Target}, backed up first), then aica recover"
            : $"move {ctx.Fs.Host(Path)} aside, then aica recover";
        return new Drift($"{Path} is a {(st.Value.IsDir ? "directory with content" : "file")}, want a link to {Target}", fix, Conflict: true);
    }

    private bool IsEmptyDir(EngineContext ctx)
    {
        using var fd = ctx.Fs.TryOpenDir(Path, out _);
        return fd is not null && Sys.ReadDir(fd, ctx.Fs.Host(Path)).Count == 0;
    }

    public override Task Apply(EngineContext ctx, Drift drift, CancellationToken ct)
    {
        var st = ctx.Fs.Lstat(Path);
        if (st is { IsDir: true }) ctx.Fs.Rmdir(Path); // empty: checked above; rmdir fails on content anyway
        ctx.Fs.EnsureParents(Path);
        ctx.Fs.ReplaceWithSymlink(Path, Target);
        return Task.CompletedTask;
    }
}

/// <summary>A generated file with exact content, owner and mode, replaced atomically only when it differs (SPEC §6.4).</summary>
public sealed class FileItem(string path, string content, uint mode, string id, uint uid = 0, uint gid = 0,
    Func<EngineContext, string, CancellationToken, Task<string?>>? validate = null, bool createOnly = false) : Item
{
    public string Path { get; } = path;
    public byte[] Content { get; } = Encoding.UTF8.GetBytes(content);
    public uint Mode { get; } = mode;
    public override string Id => id;
    public override string Subject => Path;
    public override string Describe => createOnly ? $"file {Path} present" : $"file {Path} current ({Fmt.Mode(Mode)})";

    public override Drift? Check(EngineContext ctx)
    {
        var st = ctx.Fs.Lstat(Path);
        if (st is null) return new Drift($"{Path} is missing", "aica recover (or aica init)");
        if (st.Value.IsDir) return new Drift($"{Path} is a directory", $"move {ctx.Fs.Host(Path)} away", Conflict: true);
        if (st.Value.IsLink) return new Drift($"{Path} is a symbolic link (replaced by the generated file)", "aica recover");
        if (!st.Value.IsFile) return new Drift($"{Path} is not a regular file", $"remove {ctx.Fs.Host(Path)}", Conflict: true);
        if (createOnly) return MetaDrift(ctx, st.Value);
        var cur = ctx.Fs.ReadFile(Path);
        if (cur is null || !cur.AsSpan().SequenceEqual(Content))
            return new Drift($"{Path} differs from what aica generates", "aica recover rewrites it (aica init on first setup)");
        return MetaDrift(ctx, st.Value);
    }

    private Drift? MetaDrift(EngineContext ctx, FileStat s)
    {
        if (s.Uid != uid || s.Gid != gid || s.Perm != Mode)
            return new Drift($"{Path}: {Fmt.Owner(ctx, s.Uid, s.Gid)} {Fmt.Mode(s.Perm)}, want {Fmt.Owner(ctx, uid, gid)} {Fmt.Mode(Mode)}", "aica recover");
        return null;
    }

    public override Task Apply(EngineContext ctx, Drift drift, CancellationToken ct)
    {
        var st = ctx.Fs.Lstat(Path);
        var contentOk = st is { IsFile: true } && (createOnly || (ctx.Fs.ReadFile(Path) is { } cur && cur.AsSpan().SequenceEqual(Content)));
        if (contentOk)
        {
            ctx.Fs.SetOwnerMode(Path, uid, gid, Mode);
            return Task.CompletedTask;
        }
        ctx.Fs.EnsureParents(Path);
        // The validator (visudo -cf) sees the temp file before the rename; a rejection leaves the old file in place.
        ctx.Fs.WriteAtomic(Path, Content, Mode, uid, gid, validate is null ? null : hostTemp =>
        {
            if (validate(ctx, hostTemp, ct).GetAwaiter().GetResult() is { } invalid)
                throw new AicaException($"{Path} not installed: {invalid}");
        });
        return Task.CompletedTask;
    }
}

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
        if (members is { Count: > 0 })
        {
            var batch = new AccountBatch();
            batch.TryAdd(new NewGroup(name, gid, members));
            ctx.AccountFiles.Write(batch, ct);
        }
        else await ctx.Accounts.CreateGroup(name, gid, ct).ConfigureAwait(false);
        ctx.InvalidateAccounts();
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
    public StoredUser? Stored => stored;

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
        ctx.InvalidateAccounts();
    }
}

/// <summary>The installed binary: present, root-owned, not writable by anyone else (root executes it).</summary>
public sealed class BinaryItem(string path, string source) : Item
{
    public override string Id => "bin.installed";
    public override string Subject => path;
    public override string Describe => $"{path} root:root 0755";

    public override Drift? Check(EngineContext ctx)
    {
        var st = ctx.Fs.Lstat(path);
        if (st is null) return new Drift($"{path} is missing", "aica init installs the running binary there");
        if (!st.Value.IsFile) return new Drift($"{path} is not a regular file", $"replace {ctx.Fs.Host(path)} with the aica binary", Conflict: true);
        if (st.Value.Uid != 0 || st.Value.Gid != 0 || st.Value.Perm != O(755))
            return new Drift($"{path}: {Fmt.Owner(ctx, st.Value.Uid, st.Value.Gid)} {Fmt.Mode(st.Value.Perm)}, want root:root 0755", "aica recover");
        return null;
    }

    public override Task Apply(EngineContext ctx, Drift drift, CancellationToken ct)
    {
        if (ctx.Fs.Lstat(path) is { IsFile: true }) { ctx.Fs.SetOwnerMode(path, 0, 0, O(755)); return Task.CompletedTask; }
        ctx.Fs.EnsureParents(path);
        ctx.Fs.WriteAtomic(path, File.ReadAllBytes(source), O(755));
        return Task.CompletedTask;
    }
}

/// <summary>
/// A Debian PAM session stack (<c>/etc/pam.d/common-session*</c>) that holds the session lines of aica's pam-auth-update
/// profile. Apply runs <c>pam-auth-update --enable</c>, the tool Debian expects to change these files: deleted lines come
/// back, the admin's lines outside its block stay; a stack it refuses (a line edited inside its block) is never forced,
/// only reported with the lines to add.
/// </summary>
public sealed class PamStackItem(string path, string profile, IReadOnlyList<string> lines, string id = "session.umask") : Item
{
    public override string Id => id;
    public override string Subject => path;
    public override string Describe => $"{path} runs aica's PAM session lines (pam-auth-update profile {profile})";

    private static string Normal(string line) => string.Join(' ', line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries));

    public override Drift? Check(EngineContext ctx)
    {
        var text = ctx.Fs.ReadText(path);
        if (text is null) return new Drift($"{path} is missing", $"aica recover (runs pam-auth-update --enable {profile})");
        var have = text.Split('\n').Select(Normal).ToHashSet(StringComparer.Ordinal);
        var missing = lines.Where(l => !have.Contains(Normal(l))).ToList();
        return missing.Count == 0 ? null
            : new Drift($"{path} lacks {missing.Count} of aica's session lines (umask 002 for members, shared variables): {string.Join("; ", missing)}",
                $"aica recover (runs pam-auth-update --enable {profile})");
    }

    public override async Task Apply(EngineContext ctx, Drift drift, CancellationToken ct)
    {
        var args = new List<string>();
        if (!ctx.Fs.IsRealRoot) { args.Add("--root"); args.Add(ctx.Fs.Root); }
        args.AddRange(["--package", "--enable", profile]);
        var r = await ctx.Runner.RunAsync("pam-auth-update", args, ct,
            new Dictionary<string, string?> { ["DEBIAN_FRONTEND"] = "noninteractive" }).ConfigureAwait(false);
        if (!r.Ok) throw new AicaException($"pam-auth-update --enable {profile} exited {r.ExitCode}: {r.Brief}");
        if (Check(ctx) is { } still)
            throw new AicaException($"{still.Summary} after pam-auth-update ({r.Brief.Trim()}); a hand-edited stack is not rewritten: " +
                $"add the lines of {PamProfileHint} by hand or run pam-auth-update --force --enable {profile}");
    }

    private string PamProfileHint => $"{Templates.PamConfigsDir}/{profile}";
}
