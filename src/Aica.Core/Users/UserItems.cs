using System.Text;
using Aica.Engine;
using Aica.IO;
using Aica.Native;
using static Aica.Native.Perms;

namespace Aica.Users;

/// <summary>
/// The text of an aica block between its markers, and its bytes: made once and shared by the items that put the same
/// block into several files (.profile, .zprofile, .bash_profile of a user).
/// </summary>
public sealed class ManagedBlock(string body)
{
    public string Text { get; } = $"{ManagedBlockItem.Begin}\n{body.TrimEnd('\n')}\n{ManagedBlockItem.End}\n";
    private byte[]? _bytes;
    public byte[] Bytes => _bytes ??= Encoding.UTF8.GetBytes(Text);
    private ulong? _key;
    /// <summary>The content key a file verified to hold exactly this block is recorded under (<see cref="VerifiedFiles"/>).</summary>
    public ulong Key => _key ??= VerifiedFiles.KeyOf(Bytes);
}

/// <summary>
/// A block between aica's markers inside a user's rc file (.profile, .zprofile, .condarc): added once, replaced in
/// place when it changes, never duplicated; the rest of the file is the user's and is kept byte for byte.
/// A link or a non-regular file in its place is reported as tampered and never followed.
/// <paramref name="onlyIfPresent"/>: a file aica adds its block to but never creates (.bash_profile).
/// </summary>
public sealed class ManagedBlockItem(string path, ManagedBlock block, uint uid, uint gid, string id = "user.rc", bool onlyIfPresent = false) : Item
{
    public const string Begin = "# >>> aica >>>";
    public const string End = "# <<< aica <<<";

    public ManagedBlockItem(string path, string body, uint uid, uint gid, string id = "user.rc", bool onlyIfPresent = false)
        : this(path, new ManagedBlock(body), uid, gid, id, onlyIfPresent) { }

    public string Path { get; } = path;
    public override string Id => id;
    public override string Subject => Path;
    public override string Describe => $"aica block in {Path}";

    /// <summary>The text with exactly one current block: where the first one was, else appended.</summary>
    public static string Merge(string text, string block) =>
        Encoding.UTF8.GetString(Merge(Encoding.UTF8.GetBytes(text), Encoding.UTF8.GetBytes(block)));

    /// <summary>
    /// The bytes with exactly one current block: where the first block was (later ones removed), else appended. A block
    /// runs from the last begin marker before an end marker to that end marker: a stray begin marker (one with no end,
    /// or another begin after it) is the user's text and is kept, so nothing of the user's after it is ever swallowed,
    /// and a second run changes nothing. Linear (SPEC §6.10: 300,000 begin markers must not cost a rescan each), and the
    /// user's bytes are copied as they are, UTF-8 or not: the markers are ASCII, found the same in any ASCII-compatible
    /// encoding.
    /// </summary>
    public static byte[] Merge(ReadOnlySpan<byte> text, ReadOnlySpan<byte> block)
    {
        // One pass finds the blocks (start of the begin line, end of the end line)...
        var blocks = new List<(int From, int To)>();
        FindBlocks(text, blocks, out _, out _);
        // ...and one copies everything else into a buffer of the exact size, the current block in place of the first.
        var newline = blocks.Count == 0 && text.Length > 0 && text[^1] != (byte)'\n' ? 1 : 0;
        var size = (long)text.Length + block.Length + newline;
        foreach (var (from, to) in blocks) size -= to - from;
        var output = new byte[size];
        var at = 0;
        var copied = 0;
        void Put(ReadOnlySpan<byte> part, byte[] into) { part.CopyTo(into.AsSpan(at)); at += part.Length; }
        for (var i = 0; i < blocks.Count; i++)
        {
            Put(text[copied..blocks[i].From], output);
            if (i == 0) Put(block, output);
            copied = blocks[i].To;
        }
        Put(text[copied..], output);
        if (blocks.Count == 0)
        {
            if (newline == 1) Put("\n"u8, output);
            Put(block, output);
        }
        return output;
    }

    /// <summary>
    /// Merge would give the text back unchanged: exactly one block, and it is the current one (then the bytes before and
    /// after it are copied as they are). Recover's steady state checks thousands of rc files; this allocates nothing.
    /// </summary>
    public static bool IsCurrent(ReadOnlySpan<byte> text, ReadOnlySpan<byte> block)
    {
        FindBlocks(text, null, out var first, out var count);
        return count == 1 && text[first.From..first.To].SequenceEqual(block);
    }

    /// <summary>The blocks of <paramref name="text"/> (all into <paramref name="all"/> when given), the first and how many.</summary>
    private static void FindBlocks(ReadOnlySpan<byte> text, List<(int From, int To)>? all, out (int From, int To) first, out int count)
    {
        first = default;
        count = 0;
        var lastBegin = -1;
        for (var pos = 0; pos < text.Length;)
        {
            var next = NextLine(text, pos);
            if (IsMarker(text[pos..next], BeginBytes)) lastBegin = pos;
            else if (lastBegin >= 0 && IsMarker(text[pos..next], EndBytes))
            {
                if (count++ == 0) first = (lastBegin, next);
                all?.Add((lastBegin, next));
                lastBegin = -1;
            }
            pos = next;
        }
    }

    /// <summary>Where the line starting at <paramref name="pos"/> ends: after its newline, or at the end of the text.</summary>
    private static int NextLine(ReadOnlySpan<byte> text, int pos)
    {
        var nl = text[pos..].IndexOf((byte)'\n');
        return nl < 0 ? text.Length : pos + nl + 1;
    }

    /// <summary>The line is the marker, with trailing blanks (a CR from a Windows editor) allowed.</summary>
    private static bool IsMarker(ReadOnlySpan<byte> line, ReadOnlySpan<byte> marker) =>
        line.Length >= marker.Length && line.StartsWith(marker) && line[marker.Length..].TrimEnd(" \t\r\n\v\f"u8).IsEmpty;

    public override bool AppliesTo(EngineContext ctx) => !onlyIfPresent || ctx.Fs.Lstat(Path) is not null;

    public override Drift? Check(EngineContext ctx)
    {
        // The steady state: one lstat, when the file is the very one found current before (same inode, size and change
        // time, same block wanted). Else one O_NOFOLLOW open; a link (ELOOP) or a non-regular file (EINVAL) is looked at only then.
        if (ctx.Verified.Enabled)
        {
            FileStat? now;
            try { now = ctx.Fs.Lstat(Path); }
            catch (SysException) { now = default(FileStat); } // the read below reports it
            if (now is null) return onlyIfPresent ? null : Missing;
            if (ctx.Verified.IsVerified(Path, block.Key, now.Value)) return null;
        }
        byte[]? bytes;
        FileStat read;
        try { bytes = ctx.Fs.ReadFile(Path, out read); }
        catch (SysException e) when (e.Errno is Flags.ELOOP or Flags.EINVAL && ctx.Fs.Lstat(Path) is { } st0 && UserTamper.NotRegular(ctx, Path, st0) is { } tampered)
        {
            return tampered;
        }
        catch (SysException e) when (e.Errno is Flags.EINVAL && ctx.Fs.Lstat(Path) is { IsFile: true, Size: > Sys.MaxReadBytes } big)
        {
            // Past the read cap the file is the user's alone: reported, never read whole, and the user's other items go on.
            return new Drift($"{Path} is {big.Size >> 20} MiB, over the {Sys.MaxReadBytes >> 20} MiB aica reads: its block is not managed",
                $"shrink {ctx.Fs.Host(Path)}", Conflict: true, Severity: CheckStatus.Warn);
        }
        if (bytes is null) return onlyIfPresent ? null : Missing;
        if (IsCurrent(bytes, block.Bytes))
        {
            ctx.Verified.Record(Path, block.Key, read);
            return null;
        }
        return new Drift($"{Path} lacks aica's current block (umask/conda settings)", "aica recover adds it");
    }

    private Drift Missing => new($"{Path} is missing", "aica recover writes it");
    private static ReadOnlySpan<byte> BeginBytes => "# >>> aica >>>"u8;
    private static ReadOnlySpan<byte> EndBytes => "# <<< aica <<<"u8;

    public override Task Apply(EngineContext ctx, Drift drift, CancellationToken ct)
    {
        var st = ctx.Fs.Lstat(Path);
        // The user's bytes are kept as they are, UTF-8 or not (a Latin-1 comment must not turn into U+FFFD).
        var bytes = st is { IsFile: true } ? ctx.Fs.ReadFile(Path) ?? [] : [];
        var mode = st is { IsFile: true } ? st.Value.Perm & O(777) : O(644);
        // A new inode renamed over the old name: never writes through a link or into a hard-linked file.
        ctx.Fs.WriteAtomic(Path, Merge(bytes, block.Bytes), mode, uid, gid);
        return Task.CompletedTask;
    }
}

/// <summary>The admin-given public key in authorized_keys (0600); added once. A planted link is tampering: nothing is written.</summary>
public sealed class AuthorizedKeyItem(string path, PublicKey key, uint uid, uint gid) : Item
{
    public override string Id => "user.authorized-key";
    public override string Subject => path;
    public override string Describe => $"key {key.Type} …{key.Base64[^8..]} in {path}";

    public override Drift? Check(EngineContext ctx)
    {
        var st = ctx.Fs.Lstat(path);
        if (st is null) return new Drift($"{path} is missing", "aica user add --pubkey-file F");
        if (UserTamper.NotRegular(ctx, path, st.Value, CheckStatus.Fail) is { } t) return t;
        return key.IsIn(ctx.Fs.ReadText(path) ?? "") ? null : new Drift($"{path} lacks the given key", "aica user add --pubkey-file F");
    }

    public override Task Apply(EngineContext ctx, Drift drift, CancellationToken ct)
    {
        var (text, enc) = RawText.Decode(ctx.Fs.ReadFile(path) ?? []);
        if (text.Length > 0 && !text.EndsWith('\n')) text += "\n";
        ctx.Fs.WriteAtomic(path, enc.GetBytes(text + RawText.As(enc, key.Line) + "\n"), O(600), uid, gid);
        return Task.CompletedTask;
    }
}

/// <summary>
/// /etc/skel content for a new home, copied only where neither the persistent copy nor an SSD copy exists
/// (managed dotfiles go to the persistent place, the rest to the home). Used by user add only.
/// </summary>
public sealed class SkelItem(string persistentBase, string homeBase, IReadOnlySet<string> managed, uint uid, uint persistentGid, uint homeGid) : Item
{
    public const string SkelDir = "/etc/skel";
    public override string Id => "user.skel";
    public override string Subject => persistentBase;
    public override string Describe => $"{SkelDir} content in the new home";

    private IEnumerable<(string Name, string Dest)> Missing(EngineContext ctx)
    {
        using var fd = ctx.Fs.TryOpenDir(SkelDir, out _);
        if (fd is null) yield break;
        foreach (var (zn, _, _) in Sys.ReadDir(fd, ctx.Fs.Host(SkelDir)))
        {
            var name = Encoding.UTF8.GetString(zn);
            if (ctx.Fs.Lstat($"{SkelDir}/{name}") is not { IsFile: true }) continue; // files only; skel subtrees are rare
            var dest = managed.Contains(name) ? $"{persistentBase}/{name}" : $"{homeBase}/{name}";
            if (ctx.Fs.Lstat(dest) is not null || ctx.Fs.Lstat($"{homeBase}/{name}") is { IsLink: false }) continue;
            yield return (name, dest);
        }
    }

    public override Drift? Check(EngineContext ctx) =>
        Missing(ctx).Any() ? new Drift($"{string.Join(", ", Missing(ctx).Select(m => m.Name))} from {SkelDir} not in the new home", "aica user add copies them") : null;

    public override Task Apply(EngineContext ctx, Drift drift, CancellationToken ct)
    {
        foreach (var (name, dest) in Missing(ctx).ToList())
        {
            var bytes = ctx.Fs.ReadFile($"{SkelDir}/{name}") ?? [];
            var mode = ctx.Fs.Lstat($"{SkelDir}/{name}")!.Value.Perm & O(777);
            ctx.Fs.WriteAtomic(dest, bytes, mode, uid, dest.StartsWith(persistentBase + "/") ? persistentGid : homeGid);
        }
        return Task.CompletedTask;
    }
}

/// <summary>
/// A private folder (2700) for secrets in the symlink layout: /data/users/U is readable by the group (2750) and
/// members' umask is 002, so the HuggingFace token huggingface_hub writes into ~/.cache/huggingface would be readable
/// by every member. Created only when missing (missing parents U:G 2750); an existing folder, or a link or file on
/// the way, is the user's and is left alone (a WARN until then, never a failure). Not made while
/// <paramref name="realHome"/> is still a folder (an account adopted with its SSD home): its own ~/.cache comes with
/// it when user migrate moves it onto /data, and a folder already here would block that move.
/// </summary>
public sealed class PrivateDirItem(string baseDir, string relative, uint uid, uint gid, string? realHome = null) : Item
{
    public const string HfHome = ".cache/huggingface";
    public override string Id => "user.private-dir";
    public override string Subject => $"{baseDir}/{relative}";
    public override string Describe => $"private directory {Subject} (2700)";

    /// <summary>The folders to create, outermost first; none when the path exists or something not a folder is on the way.</summary>
    private List<string> ToCreate(EngineContext ctx)
    {
        // Steady state (every boot, every symlink user): the folder is there, one lstat. A link on the way throws: left alone.
        try { if (ctx.Fs.Lstat(Subject) is not null || (realHome is not null && ctx.Fs.Lstat(realHome) is { IsDir: true })) return []; }
        catch (SysException) { return []; }
        var missing = new List<string>();
        var path = baseDir;
        foreach (var part in relative.Split('/'))
        {
            path += "/" + part;
            if (missing.Count > 0) { missing.Add(path); continue; }
            FileStat? st;
            try { st = ctx.Fs.Lstat(path); }
            catch (SysException) { return []; }
            if (st is null) missing.Add(path);
            else if (!st.Value.IsDir) return [];
        }
        return missing;
    }

    public override Drift? Check(EngineContext ctx) =>
        ToCreate(ctx).Count == 0 ? null : new Drift($"{Subject} is missing", "aica recover creates it private", Severity: CheckStatus.Warn);

    public override Task Apply(EngineContext ctx, Drift drift, CancellationToken ct)
    {
        var create = ToCreate(ctx);
        foreach (var p in create) ctx.Fs.Mkdir(p, p == create[^1] ? O(2700) : O(2750), uid, gid);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Links a user's top-level directories may hold that point into system places (a planted /data/users/U/evil →
/// /etc/shadow): reported as tampering (WARN, never followed, never "fixed" by deleting the user's entry).
/// </summary>
public sealed class TamperScanItem(string user, IReadOnlyList<string> dirs) : Item
{
    public override string Id => "user.tampered";

    // The content key of "listed and no link into a system path was found" (VerifiedFiles).
    private static readonly ulong ScannedClean = VerifiedFiles.KeyOf("aica tamper scan: clean"u8);

    private static FileStat? LstatOrNull(EngineContext ctx, string path)
    {
        try { return ctx.Fs.Lstat(path); } catch (SysException) { return null; }
    }
    public override string Subject => user;
    public override string Describe => $"no links into system paths in {string.Join(", ", dirs)}";

    public override Drift? Check(EngineContext ctx)
    {
        // A member can plant millions of entries here: streamed, one budget step each, and only the first few kept.
        var found = new CappedList();
        foreach (var dir in dirs)
        {
            // A directory scanned clean before and not changed since (no entry added, removed or renamed: its change
            // time moves with each) is clean now: one lstat instead of an open and a full listing.
            if (ctx.Verified.Enabled && LstatOrNull(ctx, dir) is { IsDir: true } now && ctx.Verified.IsVerified(dir, ScannedClean, now)) continue;
            using var fd = ctx.Fs.TryOpenDir(dir, out _);
            if (fd is null) continue; // missing or a link: the directory's own item reports that
            var host = ctx.Fs.Host(dir);
            var before = found.Total;
            var scanned = ctx.Verified.Enabled ? Sys.Fstat(fd, host) : default;
            Sys.EachDirEntry(fd, host, (name, type, _) =>
            {
                ctx.Work.Step();
                if (type != 10 && type != 0) return true; // DT_LNK, or DT_UNKNOWN on file systems without d_type
                Span<byte> target = stackalloc byte[4096];
                var n = Sys.ReadLinkAt(fd.Fd, name, target, dir); // -1 for anything that is not a link
                if (n > 0 && target[0] == (byte)'/' && UserTamper.IsSystemTarget(Encoding.UTF8.GetString(target[..n])))
                    found.Add($"{dir}/{SafeOps.Escape(name)} -> {SafeOps.Escape(target[..n])}");
                return true;
            });
            if (found.Total == before && ctx.Verified.Enabled) ctx.Verified.Record(dir, ScannedClean, scanned);
        }
        return found.Total == 0 ? null : new Drift($"{user} tampered: {found.Join("; ")} ({found.Total} link(s) into system paths, never followed)",
            "remove the link(s); aica never follows them", Conflict: true, Severity: CheckStatus.Warn);
    }

    public override Task Apply(EngineContext ctx, Drift drift, CancellationToken ct) => Task.CompletedTask;
}

public static class UserTamper
{
    private static readonly string[] SystemRoots = ["/etc", "/root", "/boot", "/proc", "/sys", "/run", "/var", "/usr", "/bin", "/sbin", "/lib",
        "/data/config", "/data/admin", "/data/bin"];

    /// <summary>An absolute link target inside a system directory (or aica's own state on /data).</summary>
    public static bool IsSystemTarget(string target) =>
        target.StartsWith('/') && SystemRoots.Any(r => target == r || target.StartsWith(r + "/"));

    /// <summary>A drift when a path aica writes for the user is a link or not a regular file (then nothing is written).</summary>
    public static Drift? NotRegular(EngineContext ctx, string path, FileStat st, CheckStatus severity = CheckStatus.Warn)
    {
        if (st.IsLink)
            return new Drift($"tampered: {path} is a symbolic link to {ctx.Fs.ShowLink(path)} (not followed, not written)",
                $"replace the link {ctx.Fs.Host(path)} with a regular file", Conflict: true, Severity: severity);
        if (!st.IsFile)
            return new Drift($"tampered: {path} is not a regular file (not written)", $"move {ctx.Fs.Host(path)} away", Conflict: true, Severity: severity);
        return null;
    }
}
