using Aica.IO;
using Aica.Native;
using static Aica.Native.Flags;

namespace Aica.Caches;

/// <summary>One repo after a clean: its plan, whether another process held it (then nothing was done).</summary>
public sealed record HfRepoOutcome(HfRepoPlan Plan, bool Locked);

/// <summary>
/// Applies <see cref="HfCache.Plan"/> to a hub cache on disk, repo by repo in parallel. While a repo is cleaned its
/// <c>.locks/&lt;repo&gt;/*.lock</c> files are held (flock, as huggingface_hub's filelock takes them, and OFD locks);
/// a repo with a lock held elsewhere is skipped. Removal goes through <see cref="TreeSweeper"/> and unlinkat in
/// opened directories only, so no link is ever followed.
/// </summary>
public sealed class HfCacheCleaner(RootedFs fs, int parallelism)
{
    public List<HfRepoOutcome> Clean(string hubPath, long now, long? cutoff, bool dryRun, SweepLog log, CancellationToken ct)
    {
        using var hub = fs.OpenDir(hubPath);
        var folders = new List<string>();
        foreach (var (raw, _, _) in Sys.ReadDir(hub, fs.Host(hubPath)))
        {
            var name = SafeOps.Escape(raw);
            if (HfCache.ParseFolder(name) is null || name != System.Text.Encoding.UTF8.GetString(raw)) continue;
            if (Sys.LstatAt(hub.Fd, Sys.Z(raw), hubPath + "/" + name) is { } st)
            {
                if (st.IsDir) folders.Add(name);
                else if (st.IsLink) log.Link($"{hubPath}/{name} is a symlink: not a repo, not followed, left alone");
            }
        }
        folders.Sort(StringComparer.Ordinal);
        var outcomes = new HfRepoOutcome?[folders.Count];
        Parallel.For(0, folders.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = ct },
            i => outcomes[i] = CleanRepo(hub, hubPath, folders[i], now, cutoff, dryRun, log, ct));
        return outcomes.Where(o => o is not null).Select(o => o!).ToList();
    }

    private HfRepoOutcome? CleanRepo(SafeFd hub, string hubPath, string folder, long now, long? cutoff, bool dryRun, SweepLog log, CancellationToken ct)
    {
        var repoPath = hubPath + "/" + folder;
        using var repo = Sys.TryOpenAt(hub.Fd, Sys.Z(folder), O_RDONLY | O_DIRECTORY | O_NOFOLLOW, out var errno);
        if (repo is null)
        {
            if (errno != ENOENT) log.Problem(new SysException(errno, "open", repoPath).Message);
            return null;
        }
        var locks = new List<SafeFd>();
        try
        {
            var busy = HoldLocks(hub, hubPath, folder, locks, log);
            var model = HfCache.ScanRepo(repo, repoPath, folder);
            var plan = HfCache.Plan(model, now, cutoff);
            foreach (var p in model.Problems) log.Problem(p);
            if (busy)
            {
                log.Problem($"{repoPath}: a lock is held by another process (download in progress?): skipped");
                return new HfRepoOutcome(plan, true);
            }
            Apply(hub, hubPath, repo, repoPath, plan, dryRun, log, ct);
            return new HfRepoOutcome(plan, false);
        }
        finally { foreach (var l in locks) l.Dispose(); }
    }

    /// <summary>
    /// Takes every lock file of the repo; true when one of them is held by someone else, or when one cannot be looked at
    /// (EMFILE, EACCES...): a lock we cannot test counts as held, so a failure never deletes a download in progress.
    /// </summary>
    private static bool HoldLocks(SafeFd hub, string hubPath, string folder, List<SafeFd> held, SweepLog log)
    {
        var path = $"{hubPath}/.locks/{folder}";
        bool Unknown(int errno, string what)
        {
            if (errno == ENOENT) return false;
            log.Problem(new SysException(errno, "open", what).Message + ": its locks cannot be tested, skipped");
            return true;
        }
        using var locksDir = Sys.TryOpenAt(hub.Fd, Sys.Z(".locks"), O_RDONLY | O_DIRECTORY | O_NOFOLLOW, out var e1);
        if (locksDir is null) return Unknown(e1, $"{hubPath}/.locks");
        using var dir = Sys.TryOpenAt(locksDir.Fd, Sys.Z(folder), O_RDONLY | O_DIRECTORY | O_NOFOLLOW, out var e2);
        if (dir is null) return Unknown(e2, path);
        List<(byte[] Name, byte Type, ulong Ino)> entries;
        try { entries = Sys.ReadDir(dir, path); }
        catch (SysException e) { log.Problem(e.Message); return true; }
        var busy = false;
        foreach (var (raw, _, _) in entries)
        {
            var fd = Sys.TryOpenAt(dir.Fd, Sys.Z(raw), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, out var e3);
            if (fd is null) { busy |= Unknown(e3, path + "/" + SafeOps.Escape(raw)); continue; }
            try
            {
                if (!Sys.Fstat(fd, path).IsFile) { fd.Dispose(); continue; }
                held.Add(fd);
                if (!Sys.TryFlock(fd, path) || Sys.IsLockedByOther(fd, path)) busy = true;
            }
            catch (SysException e) { log.Problem(e.Message); busy = true; }
        }
        return busy;
    }

    private static void Apply(SafeFd hub, string hubPath, SafeFd repo, string repoPath, HfRepoPlan plan, bool dryRun, SweepLog log, CancellationToken ct)
    {
        var sweeper = new TreeSweeper { DryRun = dryRun, ReportLinks = false, Keep = n => HfCache.TokenFiles.Contains(n) };
        var label = $"{plan.Repo.Type} {plan.Repo.Id}";
        if (plan.RemoveRepo)
        {
            sweeper.RemoveEntry(hub, hubPath, plan.Repo.Folder, $"{label}: whole repo, {plan.Notes[0]}", log, ct);
            using var locksDir = Sys.TryOpenAt(hub.Fd, Sys.Z(".locks"), O_RDONLY | O_DIRECTORY | O_NOFOLLOW, out _);
            if (locksDir is not null && Sys.LstatAt(locksDir.Fd, Sys.Z(plan.Repo.Folder), "") is { IsDir: true })
                new TreeSweeper { DryRun = dryRun }.RemoveEntry(locksDir, hubPath + "/.locks", plan.Repo.Folder, $"{label}: its lock files", log, ct);
            return;
        }
        foreach (var n in plan.Notes) log.Problem($"{repoPath}: {n}");
        if (plan.RemoveRevisions.Count > 0)
        {
            using var snaps = Sys.TryOpenAt(repo.Fd, Sys.Z("snapshots"), O_RDONLY | O_DIRECTORY | O_NOFOLLOW, out _);
            if (snaps is not null)
                foreach (var r in plan.RemoveRevisions)
                    sweeper.RemoveEntry(snaps, repoPath + "/snapshots", r.Commit, $"{label}: detached revision", log, ct);
        }
        if (plan.RemoveBlobs.Count + plan.RemoveIncomplete.Count == 0) return;
        using var blobs = Sys.TryOpenAt(repo.Fd, Sys.Z("blobs"), O_RDONLY | O_DIRECTORY | O_NOFOLLOW, out _);
        if (blobs is null) return;
        foreach (var (b, why) in plan.RemoveBlobs.Select(b => (b, "unreferenced blob")).Concat(plan.RemoveIncomplete.Select(b => (b, "incomplete download"))))
        {
            ct.ThrowIfCancellationRequested();
            var z = Sys.Z(b.Name);
            var path = $"{repoPath}/blobs/{b.Name}";
            FileStat st;
            try
            {
                if (Sys.LstatAt(blobs.Fd, z, path) is not { IsFile: true } s) continue; // gone or replaced meanwhile
                st = s;
            }
            catch (SysException e) { log.Problem(e.Message); continue; }
            if (!dryRun)
            {
                var e = Sys.TryUnlinkAt(blobs.Fd, z, false);
                if (e != 0 && e != ENOENT) { log.Problem(new SysException(e, "unlink", path).Message); continue; }
            }
            log.Add(new Removal(path, log.Unlinked(st), 1, $"{label}: {why}"));
        }
    }
}
