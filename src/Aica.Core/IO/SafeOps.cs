using System.Text;
using Aica.Native;
using static Aica.Native.Flags;

namespace Aica.IO;

/// <summary>Single link-safe changes relative to an opened parent directory (SPEC §6.1–2).</summary>
public static class SafeOps
{
    /// <summary>Outcome of a guarded change.</summary>
    public enum Result { Unchanged, Changed, Vanished, Raced }

    public static void SetOwnerMode(SafeFd dir, byte[] zname, string display, uint? uid, uint? gid, uint? mode)
    {
        var st = Sys.LstatAt(dir.Fd, zname, display) ?? throw new SysException(ENOENT, "stat", display);
        if (st.IsDir)
        {
            using var fd = Sys.OpenAt(dir.Fd, zname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, display);
            SetOwnerModeOfDir(fd, display, uid, gid, mode);
            return;
        }
        if (st.IsLink)
        {
            if ((uid is { } u && u != st.Uid) || (gid is { } g && g != st.Gid))
                Sys.LchownAt(dir.Fd, zname, uid ?? st.Uid, gid ?? st.Gid, display);
            return; // a link's mode is meaningless and chmod would reach the target
        }
        var r = ChangeInode(dir, zname, st, uid, gid, mode, out var errno);
        if (errno != 0) throw new SysException(errno, "chmod/chown", display);
        if (r == Result.Raced) throw new SysException(EAGAIN, "chmod/chown (changed while we looked)", display);
    }

    /// <summary>Owner and mode of an opened directory; only what differs is changed.</summary>
    public static bool SetOwnerModeOfDir(SafeFd fd, string display, uint? uid, uint? gid, uint? mode)
    {
        var st = Sys.Fstat(fd, display);
        var changed = false;
        if ((uid is { } u && u != st.Uid) || (gid is { } g && g != st.Gid))
        {
            Sys.Fchown(fd, uid ?? st.Uid, gid ?? st.Gid, display);
            changed = true;
            st = Sys.Fstat(fd, display);
        }
        if (mode is { } m && m != st.Perm)
        {
            Sys.Fchmod(fd, m, display);
            changed = true;
        }
        return changed;
    }

    /// <summary>
    /// Changes a non-directory found by a walk. It is reopened with O_PATH|O_NOFOLLOW and must still be the
    /// inode that was examined (same ino, type, link count, owner): a swap between look and change is refused.
    /// </summary>
    public static Result ChangeInode(SafeFd dir, byte[] zname, in FileStat seen, uint? uid, uint? gid, uint? mode, out int errno)
    {
        using var fd = Sys.TryOpenAt(dir.Fd, zname, O_PATH | O_NOFOLLOW, out errno);
        if (fd is null) return errno == ENOENT ? Result.Vanished : Result.Unchanged;
        FileStat now;
        try { now = Sys.Fstat(fd, ""); }
        catch (SysException e) { errno = e.Errno; return Result.Unchanged; }
        if (now.Ino != seen.Ino || now.Type != seen.Type || now.Nlink != seen.Nlink || now.Uid != seen.Uid || now.Dev != seen.Dev)
        {
            errno = 0;
            return Result.Raced;
        }
        var changed = false;
        if ((uid is { } u && u != now.Uid) || (gid is { } g && g != now.Gid))
        {
            errno = Sys.TryFchownPath(fd, uid ?? now.Uid, gid ?? now.Gid);
            if (errno != 0) return Result.Unchanged;
            changed = true;
            // chown clears set-id bits; only then can the mode have moved, and only a mode change needs to know
            // (saves a stat per file on big trees).
            if (mode is not null && (now.Perm & (S_ISUID | S_ISGID)) != 0) now = Sys.Fstat(fd, "");
        }
        if (mode is { } m && m != now.Perm && !now.IsLink)
        {
            errno = Sys.TryFchmodPath(fd, m);
            if (errno != 0) return changed ? Result.Changed : Result.Unchanged;
            changed = true;
        }
        errno = 0;
        return changed ? Result.Changed : Result.Unchanged;
    }

    /// <summary>The kind of an inode, for messages.</summary>
    public static string TypeName(in FileStat st) => st.Type switch
    {
        Flags.S_IFIFO => "FIFO", Flags.S_IFSOCK => "socket", Flags.S_IFCHR => "character device", Flags.S_IFBLK => "block device",
        Flags.S_IFLNK => "symbolic link", Flags.S_IFDIR => "directory", _ => "regular file",
    };

    /// <summary>Whether a name is valid UTF-8, so that a path string can name it and give back the same bytes.</summary>
    public static bool IsUtf8(ReadOnlySpan<byte> name) => System.Text.Unicode.Utf8.IsValid(name);

    /// <summary>
    /// A name for humans: UTF-8 as is; control characters (C0, DEL and the C1 range U+0080–U+009F, whose U+009B is a
    /// CSI to some terminals) and invalid bytes escaped, so a name or link target a member chose never drives the
    /// admin's terminal (OSC 52 clipboard writes, erased lines).
    /// </summary>
    public static string Escape(ReadOnlySpan<byte> name)
    {
        var clean = true;
        foreach (var b in name) if (b < 0x20 || b == 0x7f || b == '\\' || b == 0xc2) { clean = false; break; }
        if (clean)
        {
            try { return new UTF8Encoding(false, true).GetString(name); }
            catch (DecoderFallbackException) { }
        }
        var sb = new StringBuilder();
        var i = 0;
        var strict = new UTF8Encoding(false, true);
        while (i < name.Length)
        {
            var b = name[i];
            if (b == '\\') { sb.Append("\\\\"); i++; continue; }
            if (b == '\n') { sb.Append("\\n"); i++; continue; }
            if (b == '\t') { sb.Append("\\t"); i++; continue; }
            if (b < 0x20 || b == 0x7f) { sb.Append($"\\x{b:x2}"); i++; continue; }
            if (b < 0x80) { sb.Append((char)b); i++; continue; }
            var len = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            if (i + len <= name.Length && !(b == 0xc2 && name[i + 1] < 0xa0)) // U+0080–U+009F: C1 controls
            {
                try { sb.Append(strict.GetString(name.Slice(i, len))); i += len; continue; }
                catch (DecoderFallbackException) { }
            }
            sb.Append($"\\x{b:x2}");
            i++;
        }
        return sb.ToString();
    }
}
