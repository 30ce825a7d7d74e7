using Aica.Config;
using Aica.IO;
using Aica.Native;
using Aica.Site;
using Aica.Users;

namespace Aica.Caches;

/// <summary>The caches <c>aica clean</c> knows; pip, uv and npm are per user, the others shared under /data.</summary>
public enum CacheTarget { Conda, Pip, Uv, Npm, Torch, Hf, ComfyUi, Flux }

/// <summary>Who runs clean: an admin (all registered users' caches) or a member (only their own, only safe targets).</summary>
public sealed record Caller(bool IsAdmin, int Uid, string? Name)
{
    public static readonly Caller Admin = new(true, 0, "root");

    /// <summary>The exact <c>clean</c> forms a member may run through sudo (<see cref="Templates.MemberCleanForms"/>).</summary>
    public static IReadOnlyList<string> MemberForms => Templates.MemberCleanForms;

    /// <summary>Targets a member may clean: those named in <see cref="MemberForms"/>.</summary>
    public static readonly CacheTarget[] MemberTargets = MemberForms.SelectMany(f => f.Split(' '))
        .Select(flag => CleanService.Parse(flag[2..]) ?? throw new InvalidOperationException($"unknown member clean form {flag}"))
        .Distinct().ToArray();
}

public sealed record CleanOptions(IReadOnlyCollection<CacheTarget> Targets, int? OlderThanDays, string? User, bool DryRun, Caller Caller);

public enum TargetStatus { Ok, Failed }

/// <summary>The outcome of one target (one per user for the per-user caches).</summary>
public sealed class TargetResult(CacheTarget target, string? user, string path)
{
    public CacheTarget Target { get; } = target;
    public string Name => CleanService.Name(Target);
    public string? User { get; } = user;
    public string Path { get; } = path;
    public TargetStatus Status { get; set; } = TargetStatus.Ok;
    public string? Error { get; set; }
    public SweepLog Log { get; } = new();
    public List<HfRepoOutcome> Repos { get; } = [];
    public List<string> Notes { get; } = [];
    public long Bytes { get; set; }
    public string Label => User is null ? Name : $"{Name} ({User})";
}

public sealed record CleanReport(IReadOnlyList<TargetResult> Targets, bool DryRun, int? OlderThanDays)
{
    public long Total => Targets.Sum(t => t.Bytes);
    public int Failed => Targets.Count(t => t.Status == TargetStatus.Failed);
}

/// <summary>
/// <c>aica clean</c>: shared caches under /data (conda as <c>conda clean --all</c> would, the HuggingFace hub through
/// its own model, torch/ComfyUI/Flux by age or all content) and per-user caches (pip, uv, npm). A failing target never
/// stops the others. Everything is removed link-safely by aica itself (<see cref="TreeSweeper"/>,
/// <see cref="CondaSweeper"/>): no other program runs as root over a cache members can write (SPEC §6.9).
/// </summary>
public sealed class CleanService(AicaServices s)
{
    public static string Name(CacheTarget t) => t switch
    {
        CacheTarget.ComfyUi => "comfyui",
        _ => t.ToString().ToLowerInvariant(),
    };

    public static CacheTarget? Parse(string name) =>
        Enum.GetValues<CacheTarget>().Cast<CacheTarget?>().FirstOrDefault(t => Name(t!.Value) == name);

    public static bool PerUser(CacheTarget t) => t is CacheTarget.Pip or CacheTarget.Uv or CacheTarget.Npm;

    /// <summary>A user's cache directory, below the home as its layout places it (never through /home's link).</summary>
    public static string UserCache(UserEntry u, CacheTarget t)
    {
        var home = HomeLayouts.Supported.Find(u.Layout ?? "")?.HomeFolder(u.Name) ?? UserSpec.DataDirOf(u.Name);
        return t switch
        {
            CacheTarget.Pip => home + "/.cache/pip",
            CacheTarget.Uv => home + "/.cache/uv",
            CacheTarget.Npm => home + "/.npm",
            _ => throw new ArgumentOutOfRangeException(nameof(t)),
        };
    }

    public Task<CleanReport> Run(CleanOptions o, CancellationToken ct)
    {
        if (o.Targets.Count == 0) throw AicaException.Usage("name a target (--conda --pip --uv --npm --torch --hf --comfyui --flux) or --all");
        if (o.OlderThanDays is < 0 or > 36500) throw AicaException.Usage($"--older-than must be 0–36500 days, got {o.OlderThanDays}");
        if (o.User is not null && Names.ValidateUser(o.User) is { } bad) throw AicaException.Usage($"--user: {bad}");
        if (!o.Caller.IsAdmin)
        {
            if (!s.Fs.IsRealRoot) throw AicaException.Refused("--root is for admins; members clean the real server's caches only");
            if (o.User is not null && o.User != o.Caller.Name) throw AicaException.Refused($"a member cleans only their own caches (you are {o.Caller.Name})");
            var denied = o.Targets.Where(t => !Caller.MemberTargets.Contains(t)).Select(Name).ToList();
            if (denied.Count > 0)
                throw AicaException.Refused($"--{string.Join(", --", denied)}: only an admin may empty shared model caches (members: {string.Join(" ", Caller.MemberTargets.Select(t => "--" + Name(t)))}){AdminHint}");
        }
        var config = s.LoadConfig();
        s.RequireDataMounted();

        var users = UsersFor(o);
        var now = new DateTimeOffset(s.Clock.Now).ToUnixTimeSeconds();
        long? cutoff = o.OlderThanDays is { } d ? now - d * 86400L : null;
        using var lk = o.DryRun || Sys.Euid != 0 ? null : s.Lock(ct);

        var results = new List<TargetResult>();
        var chosen = Enum.GetValues<CacheTarget>().Where(o.Targets.Contains).ToList();
        using var phase = s.Progress.Phase(o.DryRun ? "clean (dry run)" : "clean", chosen.Sum(t => PerUser(t) ? users.Count : 1), "targets");
        foreach (var t in chosen)
        {
            if (PerUser(t))
            {
                foreach (var u in users)
                    results.Add(Guard(new TargetResult(t, u.Name, UserCache(u, t)), r => SweepCache(r, cutoff, o.DryRun, ct)));
                continue;
            }
            var r = t switch
            {
                CacheTarget.Conda => Guard(new TargetResult(t, null, config.CondaPkgs), r => Conda(r, config, now, cutoff, o.DryRun, ct)),
                CacheTarget.Hf => Guard(new TargetResult(t, null, config.HfHub), r => Hf(r, config, now, cutoff, o.DryRun, ct)),
                CacheTarget.Torch => Guard(new TargetResult(t, null, config.TorchHome), r => SweepCache(r, cutoff, o.DryRun, ct)),
                CacheTarget.ComfyUi => Guard(new TargetResult(t, null, config.ComfyUi), r => SweepCache(r, cutoff, o.DryRun, ct)),
                _ => Guard(new TargetResult(t, null, config.Flux), r => SweepCache(r, cutoff, o.DryRun, ct)),
            };
            results.Add(r);
        }
        var report = new CleanReport(results, o.DryRun, o.OlderThanDays);
        if (!o.DryRun && Sys.Euid == 0)
            s.Log("clean", $"{string.Join(" ", o.Targets.Select(Name))}{(o.OlderThanDays is { } od ? $" older than {od} days" : "")}: freed {report.Total} bytes, {report.Failed} failed (by {o.Caller.Name})");
        return Task.FromResult(report);
    }

    /// <summary>Under sudo a member of the group counts as a member even when they are an admin too.</summary>
    private static string AdminHint => Sys.Euid == 0 ? "; an admin who is also a member: run it from a root login or as sudo env -u SUDO_UID aica clean ..." : "";

    /// <summary>Registered users whose per-user caches are cleaned: the caller alone for a member, --user, or all.</summary>
    private List<UserEntry> UsersFor(CleanOptions o)
    {
        var reg = s.Registry.Load();
        if (!o.Caller.IsAdmin)
            return reg.Find(o.Caller.Name ?? "") is { } me ? [me] : throw AicaException.Refused($"{o.Caller.Name ?? $"uid {o.Caller.Uid}"} is not a registered user{AdminHint}");
        if (o.User is not null)
            return reg.Find(o.User) is { } u ? [u] : throw AicaException.Usage($"--user {o.User}: not a registered user");
        return [.. reg.Users];
    }

    private TargetResult Guard(TargetResult r, Action<TargetResult> run)
    {
        s.Progress.Note(r.Path);
        try { run(r); }
        catch (Exception e) when (e is SysException or IOException or AicaException) { r.Status = TargetStatus.Failed; r.Error = e.Message; }
        r.Bytes = r.Log.Freed;
        s.Progress.Advance(1, r.Bytes);
        return r;
    }

    /// <summary>Opens a cache root; a root replaced by a link (or anything not a directory) fails the target, unfollowed.</summary>
    private SafeFd? OpenRoot(TargetResult r)
    {
        var fd = s.Fs.TryOpenDir(r.Path, out var errno);
        if (fd is not null) return fd;
        if (errno == Flags.ENOENT) { r.Notes.Add("not present: nothing to clean"); return null; }
        if (errno == Flags.ELOOP)
        {
            var target = SafeRead(r.Path);
            throw new AicaException($"{r.Path} (or a directory above it) is a symlink{(target is null ? "" : $" to {target}")}: not followed, nothing cleaned");
        }
        throw new SysException(errno, "open", s.Fs.Host(r.Path));
    }

    private string? SafeRead(string path)
    {
        try { return s.Fs.ShowLink(path); } catch (ArgumentException) { return null; }
    }

    /// <summary>uv's cache lock: uv holds it while it uses the cache (<c>uv cache clean</c> waits for it too).</summary>
    public const string UvLock = ".lock";

    private void SweepCache(TargetResult r, long? cutoff, bool dryRun, CancellationToken ct)
    {
        using var root = OpenRoot(r);
        if (root is null) return;
        var busy = false;
        using var held = r.Target == CacheTarget.Uv ? HoldLock(root, r.Path + "/" + UvLock, out busy) : null;
        if (busy)
        {
            r.Notes.Add($"uv is using this cache ({UvLock} is locked by another process): skipped, nothing removed");
            return;
        }
        var sweeper = new TreeSweeper { Cutoff = cutoff, DryRun = dryRun, KeepAtTop = r.Target == CacheTarget.Uv ? new HashSet<string> { UvLock } : new HashSet<string>() };
        sweeper.SweepContent(root, r.Path, r.Log, ct);
        if (r.Log.Problems.Total > 0) r.Status = TargetStatus.Failed;
    }

    /// <summary>
    /// Takes the lock file <see cref="UvLock"/> of a cache root (a regular file, never through a link) and keeps it for
    /// the sweep, so a tool starting meanwhile waits; <paramref name="busy"/> when another process holds it.
    /// </summary>
    private static SafeFd? HoldLock(SafeFd root, string display, out bool busy)
    {
        busy = false;
        var fd = Sys.TryOpenAt(root.Fd, Sys.Z(UvLock), Flags.O_RDONLY | Flags.O_NOFOLLOW | Flags.O_NONBLOCK | Flags.O_NOCTTY, out _);
        if (fd is null) return null;
        try
        {
            if (!Sys.Fstat(fd, display).IsFile) { fd.Dispose(); return null; }
            busy = !Sys.TryFlock(fd, display) || Sys.IsLockedByOther(fd, display);
            return fd;
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    private void Hf(TargetResult r, AicaConfig config, long now, long? cutoff, bool dryRun, CancellationToken ct)
    {
        using (var root = OpenRoot(r))
        {
            if (root is not null)
                r.Repos.AddRange(new HfCacheCleaner(s.Fs, TreeWalker.Default().Parallelism).Clean(r.Path, now, cutoff, dryRun, r.Log, ct));
        }
        // The datasets cache (arrow files, downloads) has no reference structure: only by age, and only with --older-than.
        if (cutoff is null) return;
        var ds = new TargetResult(CacheTarget.Hf, null, config.HfDatasets);
        using var dsRoot = OpenRoot(ds);
        if (dsRoot is null) return;
        new TreeSweeper { Cutoff = cutoff, DryRun = dryRun, Keep = n => HfCache.TokenFiles.Contains(n) }.SweepContent(dsRoot, ds.Path, r.Log, ct);
    }

    /// <summary>Test seam: between the check of a conda package or tarball and its removal.</summary>
    internal Action<string>? CondaBeforeRemove { get; init; }

    /// <summary>
    /// What <c>conda clean --all</c> removes, done by aica's own link-safe sweep (<see cref="CondaSweeper"/>): no conda
    /// child process, so nothing works by path, as root, in a folder every member can write. conda does not have to be
    /// installed. Kept: packages linked into any environment, anything changed within the last hour (an install in
    /// progress) or, with --older-than, within those days.
    /// </summary>
    private void Conda(TargetResult r, AicaConfig config, long now, long? cutoff, bool dryRun, CancellationToken ct)
    {
        var sweeper = new CondaSweeper
        {
            KeepFrom = Math.Min(cutoff ?? long.MaxValue, now - CondaSweeper.InUseSeconds),
            DryRun = dryRun,
            BeforeRemove = CondaBeforeRemove,
        };
        using (var root = OpenRoot(r))
        {
            if (root is not null)
            {
                var kept = sweeper.SweepPkgs(root, r.Path, r.Log, ct);
                if (kept.Linked + kept.Recent > 0)
                    r.Notes.Add($"kept {kept.Linked} package(s) or tarball(s) linked into environments, {kept.Recent} changed recently (in use)");
            }
        }
        // conda's --all also removes its tempfiles under its own prefix (a missing or linked prefix: nothing to do).
        using (var prefix = s.Fs.TryOpenDir(config.CondaRoot, out _))
            if (prefix is not null) sweeper.SweepTempfiles(prefix, config.CondaRoot, r.Log, ct);
        if (r.Log.Problems.Total > 0) r.Status = TargetStatus.Failed;
    }
}
