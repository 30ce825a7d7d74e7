using Aica.IO;
using Aica.Native;
using static Aica.Native.Perms;

namespace Aica.Engine;

/// <summary>How an <see cref="AbsentItem"/> makes its path go (systemd-tmpfiles <c>r</c> and <c>R</c>, and one that keeps a copy).</summary>
public enum Removal
{
    /// <summary>tmpfiles <c>r</c>: a file, link or empty directory; a directory with content is a conflict, never emptied.</summary>
    Remove,
    /// <summary>tmpfiles <c>R</c>: recursively, following no link and entering no other file system (<see cref="TreeMover.Remove"/>).</summary>
    RemoveTree,
    /// <summary>Moved into <see cref="AbsentItem.BackupDir"/> under its own path by the one verified mover, so nothing is lost.</summary>
    BackupFirst,
}

/// <summary>The kinds of inode an <see cref="AbsentItem"/> removes.</summary>
[System.Flags]
public enum Kinds
{
    File = 1,
    Link = 2,
    Dir = 4,
    /// <summary>FIFOs, sockets, devices.</summary>
    Other = 8,
    Any = File | Link | Dir | Other,
}

/// <summary>
/// A path that must not exist: a retired bash-era file, a planted link, what is left of a removed user's home. Check
/// reports it while present (doctor: <see cref="Severity"/> with the fix; plan: what apply would remove); Apply
/// removes it as <see cref="How"/> says. Link-safe like every item: the path is looked up component by component
/// without following links, a link found there is removed as a link (its target is never read or touched), and a
/// tree is removed descriptor-relative without following any member's link.
/// </summary>
public sealed class AbsentItem(string path, Removal how, string id, string why) : Item
{
    public string Path { get; } = path;
    public Removal How { get; } = how;
    /// <summary>Why it must go, for plans and doctor ("the bash-era loader; /etc/profile.d/aica.sh replaces it").</summary>
    public string Why { get; } = why;
    public override string Id => id;
    public override string Subject => Path;
    public override string Describe => $"{Path} absent ({Why})";

    /// <summary>For <see cref="Removal.BackupFirst"/>: the run's backup folder; the path goes to BackupDir + Path.</summary>
    public string? BackupDir { get; init; }
    /// <summary>What must go. Anything else found there is left alone: reported as a warning, or not at all (<see cref="WarnOthers"/>).</summary>
    public Kinds Only { get; init; } = Kinds.Any;
    /// <summary>False: another kind at the path is what belongs there (a real folder where only a planted link must go).</summary>
    public bool WarnOthers { get; init; } = true;
    /// <summary>True when what is there is already what aica wants (a stub, a wrapper): then nothing is removed. Never called on a link.</summary>
    public Func<EngineContext, bool>? Unless { get; init; }
    /// <summary>A reason to leave it in place (an admin's hand edit), reported as a conflict. Never called on a link.</summary>
    public Func<EngineContext, string?>? Refuse { get; init; }
    /// <summary>How doctor rates a present path.</summary>
    public CheckStatus Severity { get; init; } = CheckStatus.Warn;
    /// <summary>The command that removes it, for doctor.</summary>
    public string Fix { get; init; } = "aica recover";

    /// <summary>No doctor line at all while the path is absent (a PASS for a file that does not exist says nothing).</summary>
    public bool HiddenWhenAbsent { get; init; }

    public override bool AppliesTo(EngineContext ctx) => !HiddenWhenAbsent || Stat(ctx) is not null;

    public override Drift? Check(EngineContext ctx)
    {
        if (Stat(ctx) is not { } st) return null;
        var kind = KindOf(st);
        if ((Only & kind) == 0)
            return WarnOthers
                ? new Drift($"{Path} is a {SafeOps.TypeName(st)}, not what aica removes there ({Why}): left alone",
                    $"look at {ctx.Fs.Host(Path)} and remove it by hand if it is not needed", Conflict: true, Severity: CheckStatus.Warn)
                : null;
        if (kind == Kinds.Link)
            return new Drift($"{Path} is a symbolic link to {ctx.Fs.ShowLink(Path)} ({Why}): removed as a link, never followed", Fix, Severity: Severity);
        if (Unless?.Invoke(ctx) == true) return null;
        if (Refuse?.Invoke(ctx) is { } reason) return new Drift(reason, $"decide by hand about {ctx.Fs.Host(Path)}, then {Fix}", Conflict: true, Severity: CheckStatus.Fail);
        if (kind == Kinds.Dir && How == Removal.Remove && ctx.Fs.List(Path).Count + ctx.Fs.NotUtf8(Path).Count > 0)
            return new Drift($"{Path} is a directory with content ({Why})", $"move {ctx.Fs.Host(Path)} aside by hand", Conflict: true, Severity: Severity);
        return new Drift($"{Path} is present ({Why})", Fix, Severity: Severity);
    }

    public override Task Apply(EngineContext ctx, Drift drift, CancellationToken ct)
    {
        if (Stat(ctx) is not { } st) return Task.CompletedTask; // gone meanwhile: what the item wants
        if (st.IsLink) ctx.Notes.Add($"removed link {Path} -> {ctx.Fs.ShowLink(Path)} (not followed)");
        switch (How)
        {
            case Removal.BackupFirst:
                var to = BackupArea.Prepare(ctx.Fs, BackupDir ?? throw new ArgumentException($"{Path}: a backup-first removal needs a backup folder"), Path);
                new TreeMover(ctx.Fs).Move(Path, to, ct);
                break;
            case Removal.RemoveTree:
                new TreeMover(ctx.Fs).Remove(Path);
                break;
            default:
                if (st.IsDir) ctx.Fs.Rmdir(Path); // fails on content: Check refused that already
                else ctx.Fs.Unlink(Path);
                break;
        }
        return Task.CompletedTask;
    }

    /// <summary>What is at the path; nothing when a folder above it is a link (the path, looked up without following, is not there).</summary>
    private FileStat? Stat(EngineContext ctx)
    {
        try { return ctx.Fs.Lstat(Path); }
        catch (SysException e) when (e.Errno == Flags.ELOOP) { return null; }
    }

    private static Kinds KindOf(in FileStat st) =>
        st.IsLink ? Kinds.Link : st.IsDir ? Kinds.Dir : st.IsFile ? Kinds.File : Kinds.Other;
}

/// <summary>A run's backup folder (<c>/data/admin/backups/adopt_STAMP</c>): what is replaced or removed is kept there under its own path.</summary>
public static class BackupArea
{
    /// <summary>
    /// Makes the backup folder (root:root 0750, the admin area above it too) and the parents of
    /// <paramref name="path"/>'s place in it, and returns that place: BackupDir + path.
    /// </summary>
    public static string Prepare(RootedFs fs, string backupDir, string path)
    {
        var parent = backupDir[..backupDir.LastIndexOf('/')];
        // The admin area is 0750 from the start when the backup goes there (init would narrow a 0755 one later).
        foreach (var d in backupDir.StartsWith("/data/admin/", StringComparison.Ordinal) ? new[] { "/data/admin", parent, backupDir } : [parent, backupDir])
        {
            if (d.Length == 0 || fs.Lstat(d) is not null) continue;
            fs.EnsureParents(d);
            fs.EnsureDir(d, O(750), 0, 0);
        }
        var dest = backupDir + path;
        fs.EnsureParents(dest);
        return dest;
    }

    /// <summary>Copies <paramref name="path"/> (a file, or a link as a link) into the backup folder; it stays in place. False when absent.</summary>
    public static bool Copy(RootedFs fs, string backupDir, string path, CancellationToken ct = default)
    {
        if (fs.Lstat(path) is null) return false;
        var dest = Prepare(fs, backupDir, path);
        if (fs.Lstat(dest) is not null) return true; // already kept by this run
        new TreeMover(fs).Copy(path, dest, ct);
        return true;
    }
}
