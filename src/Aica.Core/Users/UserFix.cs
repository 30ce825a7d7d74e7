using Aica.Config;
using Aica.Engine;
using Aica.IO;
using Aica.Native;
using Aica.Site;
using static Aica.Native.Flags;

namespace Aica.Users;

public sealed record FixReport(string User, string Path, long Scanned, long Changed, long OwnerFixed, long GroupFixed, long ModeFixed,
    CappedList Skipped, CappedList Tampered, CappedList Errors, bool DryRun, double DurationMs)
{
    public int ExitCode => Errors.Count > 0 ? ExitCodes.Failed : ExitCodes.Ok;
}

/// <summary>
/// aica user fix: recursive, link-safe, parallel repair of /data/users/U with the shared walker. Owner U and group G
/// everywhere, directories setgid (new files keep G); file modes are never changed, so nothing is widened and a
/// deliberate 0700 stays. Only what is wrong is changed.
/// </summary>
public sealed class UserFix(AicaServices s)
{
    /// <summary>Skipped, tampered and failed entries listed in the report before the rest are only counted.</summary>
    public const int MaxListed = 100;

    public FixReport Run(string user, bool dryRun, CancellationToken ct)
    {
        if (Names.ValidateUser(user) is { } ue) throw AicaException.Usage(ue);
        if (!dryRun) s.RequireRoot("user fix");
        s.RequireDataMounted();
        using var _ = dryRun ? null : s.Lock(ct);
        var config = s.LoadConfig();
        var db = s.Accounts.Load();
        var entry = s.Registry.Load().Find(user);
        var live = db.User(user);
        var uid = entry?.Uid ?? live?.Uid ?? throw AicaException.Usage($"no such user: {user}");
        // Ids that disagree need a human (as in recover): chowning a tree to the wrong uid hands it to someone else.
        if (live is not null && live.Uid != uid)
            throw AicaException.Refused($"{user} is registered with uid {uid} but the account has uid {live.Uid}: fix one of them first (nothing changed)");
        if (live is null && db.UserById(uid) is { } other)
            throw AicaException.Refused($"{user}'s registered uid {uid} belongs to {other.Name}: nothing changed");
        var gid = DesiredStateBuilder.SharedGid(config, db) ?? throw AicaException.Usage($"group {config.Group} does not exist: run aica init");
        var path = $"/data/users/{user}";
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var root = s.Fs.TryOpenDir(path, out var errno);
        if (root is null)
            throw errno == ELOOP ? AicaException.Refused($"{path} is a symbolic link (tampered): not followed; aica recover replaces it")
                : AicaException.Usage($"{path}: {Sys.StrError(errno)}");
        var v = new Visitor((uint)uid, (uint)gid, dryRun);
        using (s.Progress.Phase($"user fix {user}")) s.Walker().Walk(root, s.Fs.Host(path), v, ct);
        if (!dryRun) s.Log("user", $"fix {user}: {v.Scanned} scanned, {v.Changed} changed, {v.Errors.Total} errors");
        return new FixReport(user, path, v.Scanned, v.Changed, v.Owner, v.Group, v.Mode, v.Skipped, v.Tampered, v.Errors, dryRun, sw.Elapsed.TotalMilliseconds);
    }

    private sealed class Visitor(uint uid, uint gid, bool dryRun) : IWalkVisitor
    {
        public long Scanned, Changed, Owner, Group, Mode;
        // A member's tree can hold millions of planted links: the first ones are listed, the rest counted (SPEC §6.10).
        public readonly CappedList Skipped = new(MaxListed), Tampered = new(MaxListed), Errors = new(MaxListed);

        private void Count(in FileStat st, bool mode)
        {
            Interlocked.Increment(ref Changed);
            if (st.Uid != uid) Interlocked.Increment(ref Owner);
            if (st.Gid != gid) Interlocked.Increment(ref Group);
            if (mode) Interlocked.Increment(ref Mode);
        }

        public bool VisitDirectory(SafeFd dir, in FileStat st, string path, int depth)
        {
            Interlocked.Increment(ref Scanned);
            var wantMode = st.Perm | S_ISGID;
            if (st.Uid == uid && st.Gid == gid && st.Perm == wantMode) return true;
            Count(st, st.Perm != wantMode);
            if (dryRun) return true;
            try { SafeOps.SetOwnerModeOfDir(dir, path, uid, gid, wantMode); }
            catch (SysException e) { lock (Errors) Errors.Add(e.Message); }
            return true;
        }

        public void VisitEntry(in WalkEntry e)
        {
            Interlocked.Increment(ref Scanned);
            var st = e.Stat;
            if (st.IsLink)
            {
                var target = Sys.ReadLinkAt(e.Parent.Fd, e.ZName, e.Path);
                if (target is not null && UserTamper.IsSystemTarget(System.Text.Encoding.UTF8.GetString(target)))
                    lock (Tampered) Tampered.Add($"{e.Path} -> {SafeOps.Escape(target)}");
            }
            if (st.Uid == uid && st.Gid == gid) return;
            // A hard link can reach a file outside the tree (SPEC §6.2). Stricter than the shared trees: here the owner
            // changes, so one owned by anybody else (another member's group-writable file linked in) is never taken over.
            if (!st.IsLink && st.Nlink > 1 && st.Uid != uid)
            {
                lock (Skipped) Skipped.Add($"{e.Path} (hard link owned by uid {st.Uid}: not changed)");
                return;
            }
            Count(st, false);
            if (dryRun) return;
            if (st.IsLink)
            {
                try { Sys.LchownAt(e.Parent.Fd, e.ZName, uid, gid, e.Path); }
                catch (SysException ex) { lock (Errors) Errors.Add(ex.Message); }
                return;
            }
            var r = SafeOps.ChangeInode(e.Parent, e.ZName, st, uid, gid, null, out var errno);
            if (errno != 0) lock (Errors) Errors.Add(new SysException(errno, "chown", e.Path).Message);
            else if (r == SafeOps.Result.Raced) lock (Skipped) Skipped.Add($"{e.Path} (changed while we looked: not changed)");
        }

        public void OnError(string path, SysException error) { lock (Errors) Errors.Add(error.Message); }
    }
}
