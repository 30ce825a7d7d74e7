using System.Text;
using Aica.Config;
using Aica.IO;
using Aica.Native;
using Aica.Site;
using static Aica.Native.Flags;
using static Aica.Native.Perms;

namespace Aica.Data;

/// <summary>A directory in /data/users with no registry entry and no account.</summary>
public sealed record Orphan(string Name, byte[] RawName, uint Uid, long SizeBytes, long Files, long Entries);

public sealed record OrphanMove(Orphan Orphan, bool Moved, string Method, string? Error, IReadOnlyList<string> Notes);

public sealed record OrphanReport(IReadOnlyList<Orphan> Orphans, string? BackupPath, IReadOnlyList<OrphanMove> Moves, bool DryRun)
{
    public int ExitCode => !DryRun && Moves.Any(m => !m.Moved) ? ExitCodes.Failed : ExitCodes.Ok;
}

/// <summary>
/// aica data orphans: finds user data nobody owns any more; <c>--remove</c> moves each to
/// <c>backups/orphaned_&lt;ts&gt;/</c> through <see cref="TreeMover"/>: a rename on the same file system, else free-space
/// check, copy, verify, sync, then delete.
/// Nothing is deleted without a verified copy; a full or read-only backup target removes nothing (exit 1).
/// </summary>
public sealed class OrphanService(AicaServices s)
{
    public const string UsersDir = "/data/users";

    public IReadOnlyList<Orphan> Find(CancellationToken ct = default)
    {
        s.RequireDataMounted();
        var registry = s.Registry.Load();
        var db = s.Accounts.Load();
        var list = new List<Orphan>();
        using var users = s.Fs.TryOpenDir(UsersDir, out var errno);
        if (users is null) return errno == ENOENT ? list : throw new SysException(errno, "open", s.Fs.Host(UsersDir));
        foreach (var (raw, _, _) in Sys.ReadDir(users, UsersDir).OrderBy(e => e.Name, ByteOrder.Instance))
        {
            var name = SafeOps.Escape(raw);
            var z = Sys.Z(raw);
            if (Sys.LstatAt(users.Fd, z, UsersDir) is not { IsDir: true } st) continue;
            // Only a valid user name can be registered; an account can have a name aica would not create (john.doe from
            // useradd, user@domain from sssd): its data is not an orphan either (as doctor and user list see it).
            var printable = name == Encoding.UTF8.GetString(raw);
            if (printable && Names.ValidateUser(name) is null && registry.Find(name) is not null) continue;
            if (printable && !name.StartsWith('-') && !name.Contains(':') && db.User(name) is not null) continue;
            using var fd = Sys.TryOpenAt(users.Fd, z, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, out _);
            if (fd is null) continue;
            var size = new SizeCounter();
            TreeWalker.Default().Walk(fd, $"{UsersDir}/{name}", size, ct);
            list.Add(new Orphan(name, raw, st.Uid, size.Bytes, size.Files, size.Entries));
        }
        return list;
    }

    public OrphanReport Remove(bool dryRun, CancellationToken ct = default)
    {
        var config = s.LoadConfig();
        if (!dryRun) s.RequireRoot("data orphans --remove");
        s.RequireDataMounted();
        using var lck = dryRun ? null : s.Lock(ct);
        var orphans = Find(ct);
        var target = $"{config.BackupDir}/orphaned_{s.Clock.Stamp()}";
        if (orphans.Count == 0) return new OrphanReport(orphans, null, [], dryRun);
        if (dryRun) return new OrphanReport(orphans, target, orphans.Select(o => new OrphanMove(o, false, "planned", null, [])).ToList(), true);

        SafeFd backup;
        try
        {
            s.Fs.EnsureParents(target);
            if (s.Fs.Lstat(target) is not null) target += $"_{Sys.Pid}";
            s.Fs.Mkdir(target, O(750), 0, 0);
            backup = s.Fs.OpenDir(target);
        }
        catch (SysException e)
        {
            throw new AicaException($"cannot create the backup {s.Fs.Host(target)}: {Sys.StrError(e.Errno)}{Hint(e.Errno)}; nothing was removed");
        }
        var moves = new List<OrphanMove>();
        using (backup)
        using (var users = s.Fs.OpenDir(UsersDir))
        {
            foreach (var o in orphans)
            {
                ct.ThrowIfCancellationRequested();
                moves.Add(MoveOne(users, backup, o, ct));
            }
            if (moves.Any(m => m.Moved)) WriteManifest(target, moves);
        }
        if (moves.All(m => !m.Moved))
        {
            try { s.Fs.Rmdir(target); } catch (SysException) { /* a manifest or partial copy we could not remove stays */ }
        }
        foreach (var m in moves)
            s.Log("orphans", m.Moved ? $"moved {UsersDir}/{m.Orphan.Name} to {target}/{m.Orphan.Name} ({m.Method}, {m.Orphan.SizeBytes} bytes)"
                                     : $"kept {UsersDir}/{m.Orphan.Name}: {m.Error}");
        return new OrphanReport(orphans, target, moves, false);
    }

    /// <summary>One orphan through the mover: a rename, or the verified copy sequence (the free-space check is its own).</summary>
    private OrphanMove MoveOne(SafeFd users, SafeFd backup, Orphan o, CancellationToken ct)
    {
        s.Fs.ForgetDirs($"{UsersDir}/{System.Text.Encoding.UTF8.GetString(o.RawName)}"); // renamed or removed below through descriptors: RootedFs must not keep it
        var z = Sys.Z(o.RawName);
        var display = $"{UsersDir}/{o.Name}";
        var mover = new TreeMover(s.Fs);
        try
        {
            var method = mover.MoveAt(users, z, backup, z, display, ct);
            return new OrphanMove(o, true, method == MoveMethod.Rename ? "rename" : "copy+verify+delete", null, mover.Notes);
        }
        catch (SysException e) when (e.Call == TreeMover.SourceNotRemoved)
        {
            return new OrphanMove(o, false, "copy+verify", $"copied and verified, but removing the original failed: {e.PathName}: {Sys.StrError(e.Errno)}", mover.Notes);
        }
        catch (SysException e)
        {
            return new OrphanMove(o, false, "copy", $"{e.Call} {e.PathName}: {Sys.StrError(e.Errno)}{Hint(e.Errno)}; the original was not touched", mover.Notes);
        }
    }

    private static string Hint(int errno) => errno switch
    {
        ENOSPC or EDQUOT => " (the backup target is full: free space or set paths.backups)",
        EROFS => " (the backup target is read-only: remount it read-write or set paths.backups)",
        _ => "",
    };

    /// <summary>What moved, next to it: original path, size, method, or why it stayed.</summary>
    private void WriteManifest(string target, IReadOnlyList<OrphanMove> moves)
    {
        var sb = new StringBuilder($"# aica data orphans --remove, {s.Clock.LogTime()}\n");
        foreach (var m in moves)
            sb.AppendLine(m.Moved ? $"moved\t{UsersDir}/{m.Orphan.Name}\t{m.Orphan.SizeBytes}\t{m.Method}" : $"kept\t{UsersDir}/{m.Orphan.Name}\t{m.Error}");
        try { s.Fs.WriteAtomic($"{target}/MANIFEST.txt", Encoding.UTF8.GetBytes(sb.ToString()), O(640)); }
        catch (SysException) { /* a full target: the log line still records each move */ }
    }

    /// <summary>Apparent bytes (as du -sb) and entries; a copy needs about a block more per entry.</summary>
    private sealed class SizeCounter : IWalkVisitor
    {
        public long Bytes, Files, Entries;
        public bool VisitDirectory(SafeFd dir, in FileStat st, string path, int depth) { Count(st); return true; }
        public void VisitEntry(in WalkEntry e) => Count(e.Stat);
        private void Count(in FileStat st)
        {
            Interlocked.Add(ref Bytes, st.Size);
            Interlocked.Increment(ref Entries);
            if (st.IsFile) Interlocked.Increment(ref Files);
        }
        public void OnError(string path, SysException error) { }
    }
}
