using Aica.IO;
using Aica.Native;
using static Aica.Native.Flags;

namespace Aica.Caches;

/// <summary>What one conda sweep kept, for the report: packages still linked into environments, recent ones.</summary>
public sealed record CondaKept(int Linked, int Recent, int NotPackages);

/// <summary>
/// <c>conda clean --all</c> done by aica itself, link-safely (SPEC §6.1, §6.9): the shared package cache is writable by
/// every member, and conda works by path (a member swapping a package folder for a link made root delete anything).
/// The same choices as conda's <c>main_clean.py</c>:
/// <list type="bullet">
/// <item>packages: a folder in the cache with an <c>info</c> folder whose regular files all have one link (no
/// environment hard-links them);</item>
/// <item>tarballs: <c>*.conda</c>, <c>*.tar.bz2</c> (and their <c>.partial</c> downloads) directly in the cache, with one link;</item>
/// <item>index cache: the <c>cache</c> folder; logfiles: the files in <c>.logs</c>;</item>
/// <item>tempfiles: <c>*.c~</c> and <c>*.trash</c> files in conda's own prefix (conda's <c>--all</c>), and, beyond
/// conda, such entries left at the top of the cache by interrupted extractions.</item>
/// </list>
/// Unlike conda, anything changed within <see cref="KeepFrom"/> is in use (an install may be extracting it or about to
/// link it) and stays; <c>urls.txt</c>, <c>urls</c> and everything not listed above stay as they are.
/// Every folder is opened O_NOFOLLOW relative to its opened parent; a package folder is removed only through the
/// descriptor of the very folder that was checked, and each file is checked again (one link, a regular file) just
/// before it goes. Links are never followed (a link in the cache is left and reported); FIFOs, sockets and devices are
/// never opened: a package holding one is not a conda package and stays (reported).
/// </summary>
public sealed class CondaSweeper
{
    public const string IndexCache = "cache";
    public const string LogsDir = ".logs";
    public const string InfoDir = "info";
    public static readonly string[] TarballSuffixes = [".conda", ".tar.bz2", ".conda.partial", ".tar.bz2.partial"];
    public static readonly string[] TempSuffixes = [".c~", ".trash"];

    /// <summary>How long a new package or tarball counts as in use (an install extracts, then links: conda takes no lock).</summary>
    public const long InUseSeconds = 3600;

    /// <summary>Unix seconds: a package, tarball, tempfile changed at or after this is kept.</summary>
    public long KeepFrom { get; init; } = long.MaxValue;
    public bool DryRun { get; init; }

    /// <summary>Test seam: called with the path of a package folder or tarball after it was checked, before it is removed.</summary>
    internal Action<string>? BeforeRemove { get; init; }

    private int _linked, _recent, _notPackages;

    public static bool IsTarball(string name) => TarballSuffixes.Any(s => name.EndsWith(s, StringComparison.Ordinal) && name.Length > s.Length);
    public static bool IsTempfile(string name) => TempSuffixes.Any(s => name.EndsWith(s, StringComparison.Ordinal));

    /// <summary>Cleans the opened package cache <paramref name="pkgs"/> (never removed itself).</summary>
    public CondaKept SweepPkgs(SafeFd pkgs, string path, SweepLog log, CancellationToken ct)
    {
        var dev = Sys.Fstat(pkgs, path).Dev;
        var tree = new TreeSweeper { DryRun = DryRun, ReportLinks = true };
        foreach (var (z, name, child, st) in log.Entries(pkgs, path, ct, byteOrder: true))
        {

            if (st.IsLink)
            {
                var target = Sys.ReadLinkAt(pkgs.Fd, z, child) is { } t ? SafeOps.Escape(t) : "?";
                log.Link($"{child} is a symlink to {target}: not conda's, left as it is (not followed)");
                continue;
            }
            if (!st.IsDir && !st.IsFile)
            {
                log.Skip($"{child} is a {Kind(st)}: not conda's, left as it is (never opened)");
                continue;
            }
            if (st.IsDir && st.Dev != dev)
            {
                log.Skip($"{child}: another file system is mounted here, not entered");
                continue;
            }
            if (name == IndexCache && st.IsDir)
            {
                tree.RemoveEntry(pkgs, path, name, "index cache", log, ct);
                continue;
            }
            if (name == LogsDir && st.IsDir)
            {
                Logfiles(pkgs, z, child, st, tree, log, ct);
                continue;
            }
            if (IsTempfile(name))
            {
                if (Newest(st) >= KeepFrom) continue;
                BeforeRemove?.Invoke(child);
                tree.RemoveEntry(pkgs, path, name, "tempfile", log, ct);
                continue;
            }
            if (st.IsFile && IsTarball(name))
            {
                Tarball(pkgs, z, child, st, log);
                continue;
            }
            if (st.IsDir) Package(pkgs, z, child, st, dev, log, ct);
        }
        return Kept();
    }

    private CondaKept Kept() => new(_linked, _recent, _notPackages);

    private static string Kind(in FileStat st) => st.Type switch
    {
        S_IFIFO => "FIFO",
        S_IFSOCK => "socket",
        S_IFCHR => "character device",
        S_IFBLK => "block device",
        _ => "special file",
    };

    private static long Newest(in FileStat st) => TreeSweeper.Newest(st);

    /// <summary>The files directly in <c>.logs</c> (conda's logfiles); links are removed as links, folders left.</summary>
    private void Logfiles(SafeFd pkgs, byte[] z, string path, in FileStat st, TreeSweeper tree, SweepLog log, CancellationToken ct)
    {
        using var fd = OpenChecked(pkgs, z, path, st, log);
        if (fd is null) return;
        foreach (var (raw, _, _) in Sys.ReadDir(fd, path))
        {
            var name = SafeOps.Escape(raw);
            var child = path + "/" + name;
            if (Sys.LstatAt(fd.Fd, Sys.Z(raw), child) is not { } c || c.IsDir) continue;
            if (!c.IsFile && !c.IsLink) { log.Skip($"{child} is a {Kind(c)}: left as it is (never opened)"); continue; }
            tree.RemoveEntry(fd, path, name, "log file", log, ct);
        }
    }

    /// <summary>A tarball with one link goes (conda keeps one with more: it is hard-linked elsewhere).</summary>
    private void Tarball(SafeFd pkgs, byte[] z, string path, in FileStat st, SweepLog log)
    {
        if (st.Nlink > 1) { _linked++; return; }
        if (Newest(st) >= KeepFrom) { _recent++; return; }
        BeforeRemove?.Invoke(path);
        if (!DryRun)
        {
            // Checked again just before: a name swapped meanwhile is another entry of this folder, never followed by unlink.
            if (Sys.LstatAt(pkgs.Fd, z, path) is not { } now) return;
            if (!now.IsFile || now.Ino != st.Ino || now.Nlink > 1)
            {
                log.Problem($"{path}: changed while cleaning, left as it is");
                return;
            }
            var e = Sys.TryUnlinkAt(pkgs.Fd, z, false);
            if (e == ENOENT) return;
            if (e != 0) { log.Problem(new SysException(e, "unlink", path).Message); return; }
        }
        log.Add(new Removal(path, log.Unlinked(st), 1, "tarball"));
    }

    /// <summary>Opens a folder of the cache by name, O_NOFOLLOW, and only if it is still the inode <paramref name="st"/> describes.</summary>
    private static SafeFd? OpenChecked(SafeFd dir, byte[] z, string path, in FileStat st, SweepLog log)
    {
        var fd = Sys.TryOpenAt(dir.Fd, z, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, out var errno);
        if (fd is null)
        {
            if (errno != ENOENT) log.Problem(new SysException(errno, "open", path).Message + " (changed while cleaning? left as it is)");
            return null;
        }
        var now = Sys.Fstat(fd, path);
        if (now.Ino == st.Ino && now.Dev == st.Dev) return fd;
        fd.Dispose();
        log.Problem($"{path}: replaced while cleaning, left as it is");
        return null;
    }

    private enum Verdict { Unused, Linked, NotPackage }

    /// <summary>What the check of one package found: the verdict, why, its files and bytes.</summary>
    private sealed class Scan
    {
        public Verdict Verdict = Verdict.Unused;
        public string? Why;
        public long Files;
        public long Bytes;
    }

    /// <summary>One folder of the cache: a package (it has <c>info/</c>) that no environment links goes, whole.</summary>
    private void Package(SafeFd pkgs, byte[] z, string path, in FileStat st, ulong dev, SweepLog log, CancellationToken ct)
    {
        var scan = new Scan();
        using (var fd = OpenChecked(pkgs, z, path, st, log))
        {
            if (fd is null) return;
            var info = Sys.LstatAt(fd.Fd, Sys.Z(InfoDir), path + "/" + InfoDir);
            if (info is not { IsDir: true } i) return; // not an extracted package: conda leaves it too
            if (Math.Max(Newest(st), Newest(i)) >= KeepFrom) { _recent++; return; }
            try { Check(fd, path, dev, 1, scan, ct); }
            catch (SysException e) { log.Problem(e.Message + " (package left as it is)"); return; }
        }
        switch (scan.Verdict)
        {
            case Verdict.Linked: _linked++; return;
            case Verdict.NotPackage: _notPackages++; log.Skip($"{path}: {scan.Why}: not a conda package, left as it is"); return;
        }
        BeforeRemove?.Invoke(path);
        var freedBefore = log.Freed;
        // Removed through a descriptor of the very folder checked above: a name swapped for a link or another folder
        // meanwhile fails the open or the inode comparison, and nothing is followed.
        using (var fd = OpenChecked(pkgs, z, path, st, log))
        {
            if (fd is null) return;
            if (!Empty(fd, path, dev, 1, log, ct)) return;
        }
        if (!DryRun)
        {
            var e = Sys.TryUnlinkAt(pkgs.Fd, z, true); // rmdir: only ever an empty folder, whatever the name holds now
            if (e is ENOTDIR or ENOTEMPTY)
            {
                log.Problem($"{path}: changed while cleaning ({Sys.StrError(e)} when removing the emptied folder): left as it is");
                return;
            }
            if (e != 0 && e != ENOENT) { log.Problem(new SysException(e, "rmdir", path).Message); return; }
        }
        log.Unlinked(st);
        log.Add(new Removal(path, log.Freed - freedBefore, scan.Files, "unused package"));
    }

    /// <summary>Walks a package: any file with several links means an environment uses it; a FIFO, socket or device, a
    /// mount or a nesting past <see cref="TreeSweeper.MaxDepth"/> means it is not conda's.</summary>
    private static void Check(SafeFd dir, string path, ulong dev, int depth, Scan scan, CancellationToken ct)
    {
        foreach (var (raw, _, _) in Sys.ReadDir(dir, path))
        {
            ct.ThrowIfCancellationRequested();
            var z = Sys.Z(raw);
            var child = path + "/" + SafeOps.Escape(raw);
            if (Sys.LstatAt(dir.Fd, z, child) is not { } st) continue;
            if (st.IsLink) { scan.Files++; continue; }
            if (st.IsFile)
            {
                if (st.Nlink > 1) { scan.Verdict = Verdict.Linked; return; }
                scan.Files++;
                scan.Bytes += st.DiskBytes;
                continue;
            }
            if (!st.IsDir) { NotPackage(scan, $"{child} is a {Kind(st)}"); return; }
            if (st.Dev != dev) { NotPackage(scan, $"another file system is mounted on {child}"); return; }
            if (depth >= TreeSweeper.MaxDepth) { NotPackage(scan, $"nested more than {TreeSweeper.MaxDepth} levels deep"); return; }
            var fd = Sys.TryOpenAt(dir.Fd, z, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, out var errno)
                ?? throw new SysException(errno, "open", child);
            using (fd)
            {
                var now = Sys.Fstat(fd, child);
                if (now.Ino != st.Ino || now.Dev != st.Dev) throw new SysException(EAGAIN, "open (changed while cleaning)", child);
                scan.Bytes += st.DiskBytes;
                Check(fd, child, dev, depth + 1, scan, ct);
            }
            if (scan.Verdict != Verdict.Unused) return;
        }
    }

    private static void NotPackage(Scan scan, string why) { scan.Verdict = Verdict.NotPackage; scan.Why = why; }

    /// <summary>
    /// Empties an opened, checked package folder. Each entry is looked at again just before it goes: a file that has
    /// gained a link (an install linking it right now), a FIFO or device, or a folder swapped meanwhile stops the
    /// removal of this package (reported); what went is counted.
    /// </summary>
    private bool Empty(SafeFd dir, string path, ulong dev, int depth, SweepLog log, CancellationToken ct)
    {
        foreach (var (raw, _, _) in Sys.ReadDir(dir, path))
        {
            ct.ThrowIfCancellationRequested();
            var z = Sys.Z(raw);
            var child = path + "/" + SafeOps.Escape(raw);
            if (Sys.LstatAt(dir.Fd, z, child) is not { } st) continue;
            if (st.IsDir)
            {
                if (st.Dev != dev || depth >= TreeSweeper.MaxDepth) { log.Problem($"{child}: changed while cleaning, package left in part"); return false; }
                using (var fd = OpenChecked(dir, z, child, st, log))
                {
                    if (fd is null || !Empty(fd, child, dev, depth + 1, log, ct)) return false;
                }
                if (!Unlink(dir, z, child, true, log)) return false;
                log.Unlinked(st);
                continue;
            }
            if (st.IsFile && st.Nlink > 1) { log.Problem($"{child}: linked into an environment while cleaning, package left in part"); return false; }
            if (!st.IsFile && !st.IsLink) { log.Problem($"{child} is a {Kind(st)} (changed while cleaning): package left in part"); return false; }
            if (!Unlink(dir, z, child, false, log)) return false;
            log.Unlinked(st);
        }
        return true;
    }

    private bool Unlink(SafeFd dir, byte[] z, string path, bool isDir, SweepLog log)
    {
        if (DryRun) return true;
        var e = Sys.TryUnlinkAt(dir.Fd, z, isDir);
        if (e == 0 || e == ENOENT) return true;
        log.Problem(new SysException(e, isDir ? "rmdir" : "unlink", path).Message + " (package left in part)");
        return false;
    }

    /// <summary>
    /// conda's tempfiles (<c>*.c~</c>, <c>*.trash</c> files left by an update that could not delete a file in use) under its
    /// own prefix, found by a walk that follows no link and stays on one file system.
    /// </summary>
    public void SweepTempfiles(SafeFd prefix, string path, SweepLog log, CancellationToken ct)
    {
        var dev = Sys.Fstat(prefix, path).Dev;
        Tempfiles(prefix, path, dev, 0, log, ct);
    }

    private void Tempfiles(SafeFd dir, string path, ulong dev, int depth, SweepLog log, CancellationToken ct)
    {
        foreach (var (z, name, child, st) in log.Entries(dir, path, ct))
        {
            if (st.IsDir)
            {
                if (st.Dev != dev || depth >= TreeSweeper.MaxDepth) continue;
                using var fd = OpenChecked(dir, z, child, st, log);
                if (fd is not null) Tempfiles(fd, child, dev, depth + 1, log, ct);
                continue;
            }
            if (!(st.IsFile || st.IsLink) || !IsTempfile(name) || Newest(st) >= KeepFrom) continue;
            if (Unlink(dir, z, child, false, log)) log.Add(new Removal(child, log.Unlinked(st), 1, "tempfile"));
        }
    }
}
