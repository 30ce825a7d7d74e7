using System.Text;
using Aica.Native;
using static Aica.Native.Flags;
using static Aica.Native.Perms;

namespace Aica.Engine;

internal static class Fmt
{
    public static string Mode(uint m) => Convert.ToString(m, 8).PadLeft(4, '0');
    public static string Owner(EngineContext ctx, uint uid, uint gid)
    {
        var u = ctx.UserName((int)uid) ?? uid.ToString();
        var g = ctx.GroupName((int)gid) ?? gid.ToString();
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
public sealed class FileItem : Item
{
    private readonly Lazy<byte[]> _content;
    private ulong? _key;
    private readonly string _id;
    private readonly uint _uid, _gid;
    private readonly Func<EngineContext, string, CancellationToken, Task<string?>>? _validate;
    private readonly bool _createOnly;

    public FileItem(string path, string content, uint mode, string id, uint uid = 0, uint gid = 0,
        Func<EngineContext, string, CancellationToken, Task<string?>>? validate = null, bool createOnly = false)
        : this(path, () => content, null, mode, id, uid, gid, validate, createOnly) { }

    /// <summary>
    /// A file whose content is rendered only when it must be read or written: <paramref name="key"/> stands for that
    /// content (<see cref="VerifiedFiles"/>), so a file found current before and unchanged since costs one lstat.
    /// </summary>
    public FileItem(GeneratedFile file, uint mode) : this(file.Path, file.Render, file.Key, mode, file.Id) { }

    private FileItem(string path, Func<string> render, ulong? key, uint mode, string id, uint uid = 0, uint gid = 0,
        Func<EngineContext, string, CancellationToken, Task<string?>>? validate = null, bool createOnly = false)
    {
        Path = path;
        _content = new Lazy<byte[]>(() => Encoding.UTF8.GetBytes(render()));
        _key = key;
        Mode = mode;
        _id = id;
        (_uid, _gid, _validate, _createOnly) = (uid, gid, validate, createOnly);
    }

    public string Path { get; }
    public byte[] Content => _content.Value;
    public uint Mode { get; }
    public override string Id => _id;
    public override string Subject => Path;
    public override string Describe => _createOnly ? $"file {Path} present" : $"file {Path} current ({Fmt.Mode(Mode)})";

    /// <summary>What <see cref="VerifiedFiles"/> records the file under when it holds <see cref="Content"/>.</summary>
    private ulong Key => _key ??= VerifiedFiles.KeyOf(Content);

    public override Drift? Check(EngineContext ctx)
    {
        var st = ctx.Fs.Lstat(Path);
        if (st is null) return new Drift($"{Path} is missing", "aica recover (or aica init)");
        if (st.Value.IsDir) return new Drift($"{Path} is a directory", $"move {ctx.Fs.Host(Path)} away", Conflict: true);
        if (st.Value.IsLink) return new Drift($"{Path} is a symbolic link (replaced by the generated file)", "aica recover");
        if (!st.Value.IsFile) return new Drift($"{Path} is not a regular file", $"remove {ctx.Fs.Host(Path)}", Conflict: true);
        if (_createOnly) return MetaDrift(ctx, st.Value);
        if (ctx.Verified.Enabled && ctx.Verified.IsVerified(Path, Key, st.Value)) return MetaDrift(ctx, st.Value);
        var cur = ctx.Fs.ReadFile(Path, out var read);
        if (cur is null || !cur.AsSpan().SequenceEqual(Content))
            return new Drift($"{Path} differs from what aica generates", "aica recover rewrites it (aica init on first setup)");
        if (ctx.Verified.Enabled) ctx.Verified.Record(Path, Key, read);
        return MetaDrift(ctx, st.Value);
    }

    private Drift? MetaDrift(EngineContext ctx, FileStat s)
    {
        if (s.Uid != _uid || s.Gid != _gid || s.Perm != Mode)
            return new Drift($"{Path}: {Fmt.Owner(ctx, s.Uid, s.Gid)} {Fmt.Mode(s.Perm)}, want {Fmt.Owner(ctx, _uid, _gid)} {Fmt.Mode(Mode)}", "aica recover");
        return null;
    }

    public override Task Apply(EngineContext ctx, Drift drift, CancellationToken ct)
    {
        var st = ctx.Fs.Lstat(Path);
        var contentOk = st is { IsFile: true } && (_createOnly || (ctx.Fs.ReadFile(Path) is { } cur && cur.AsSpan().SequenceEqual(Content)));
        if (contentOk)
        {
            ctx.Fs.SetOwnerMode(Path, _uid, _gid, Mode);
            return Task.CompletedTask;
        }
        ctx.Fs.EnsureParents(Path);
        // The validator (visudo -cf) sees the temp file before the rename; a rejection leaves the old file in place.
        ctx.Fs.WriteAtomic(Path, Content, Mode, _uid, _gid, _validate is null ? null : hostTemp =>
        {
            if (_validate(ctx, hostTemp, ct).GetAwaiter().GetResult() is { } invalid)
                throw new AicaException($"{Path} not installed: {invalid}");
        });
        return Task.CompletedTask;
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
