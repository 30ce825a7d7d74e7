using Aica.Caches;
using Aica.IO;
using Aica.Native;
using Aica.Tests.Infra;
using Bogus;

namespace Aica.Tests.Caches;

/// <summary>A HuggingFace hub cache generated on disk with Bogus (fixed seed), and what the generator knows about it.</summary>
public sealed class GeneratedHub
{
    public sealed record Rev(string Commit, List<string> Refs, Dictionary<string, string> Files); // relative path → blob
    public sealed record Repo(string Folder, Dictionary<string, long> Blobs, List<Rev> Revs, List<(string Name, bool Old)> Incomplete);

    public List<Repo> Repos { get; } = [];
    public string Hub { get; }

    public GeneratedHub(string hub, int seed, int repos, long now)
    {
        Hub = hub;
        var f = new Faker { Random = new Randomizer(seed) };
        Directory.CreateDirectory(hub);
        for (var r = 0; r < repos; r++)
        {
            var kind = f.Random.Bool(0.8f) ? "models" : "datasets";
            var folder = $"{kind}--{f.Internet.UserName().ToLowerInvariant().Replace('.', '-').Replace('_', '-')}--{f.Lorem.Word()}{r}";
            var repo = new Repo(folder, [], [], []);
            var dir = Path.Combine(hub, folder);
            Directory.CreateDirectory(Path.Combine(dir, "blobs"));
            Directory.CreateDirectory(Path.Combine(dir, "refs"));
            Directory.CreateDirectory(Path.Combine(dir, "snapshots"));
            var pool = Enumerable.Range(0, f.Random.Int(2, 10)).Select(_ => f.Random.Hash(64)).Distinct().ToList();
            foreach (var b in pool)
            {
                var size = f.Random.Int(1, 9000);
                File.WriteAllBytes(Path.Combine(dir, "blobs", b), f.Random.Bytes(size));
                repo.Blobs[b] = size;
            }
            var revCount = f.Random.Int(1, 4);
            for (var v = 0; v < revCount; v++)
            {
                var rev = new Rev(f.Random.Hash(40), [], []);
                var snap = Path.Combine(dir, "snapshots", rev.Commit);
                foreach (var file in Enumerable.Range(0, f.Random.Int(1, 5)).Select(i => i % 2 == 0 ? $"file{i}.bin" : $"sub/d{i}/file{i}.json"))
                {
                    var blob = f.PickRandom(pool);
                    rev.Files[file] = blob;
                    var link = Path.Combine(snap, file);
                    Directory.CreateDirectory(Path.GetDirectoryName(link)!);
                    var depth = file.Count(c => c == '/') + 2;
                    File.CreateSymbolicLink(link, string.Concat(Enumerable.Repeat("../", depth)) + "blobs/" + blob);
                }
                repo.Revs.Add(rev);
            }
            // Refs: main on one revision most of the time, sometimes a PR ref on another; the rest are detached.
            if (f.Random.Bool(0.85f)) repo.Revs[f.Random.Int(0, repo.Revs.Count - 1)].Refs.Add("main");
            if (repo.Revs.Count > 1 && f.Random.Bool(0.3f)) repo.Revs[f.Random.Int(0, repo.Revs.Count - 1)].Refs.Add("pr/1");
            foreach (var rev in repo.Revs)
                foreach (var name in rev.Refs)
                {
                    var p = Path.Combine(dir, "refs", name);
                    Directory.CreateDirectory(Path.GetDirectoryName(p)!);
                    File.WriteAllText(p, rev.Commit);
                }
            for (var i = 0; i < f.Random.Int(0, 2); i++)
            {
                var name = f.Random.Hash(64) + ".incomplete";
                var old = f.Random.Bool();
                var p = Path.Combine(dir, "blobs", name);
                File.WriteAllBytes(p, f.Random.Bytes(100));
                if (old) File.SetLastWriteTimeUtc(p, DateTimeOffset.FromUnixTimeSeconds(now - 7200).UtcDateTime);
                repo.Incomplete.Add((name, old));
            }
            Settle(dir, now, keep: repo.Incomplete.Where(i => !i.Old).Select(i => i.Name).ToHashSet());
            Repos.Add(repo);
        }
    }

    /// <summary>
    /// Dates a repo's blobs and snapshot directories two hours back, past the grace that keeps what a download in
    /// progress may be writing (files named in <paramref name="keep"/> stay as they are).
    /// </summary>
    public static void Settle(string repoDir, long now, IReadOnlySet<string>? keep = null)
    {
        var then = DateTimeOffset.FromUnixTimeSeconds(now - 7200).UtcDateTime;
        var blobs = Path.Combine(repoDir, "blobs");
        if (Directory.Exists(blobs) && File.ResolveLinkTarget(blobs, false) is null)
            foreach (var b in Directory.EnumerateFiles(blobs).Where(b => keep?.Contains(Path.GetFileName(b)) != true && File.ResolveLinkTarget(b, false) is null))
                File.SetLastWriteTimeUtc(b, then);
        var snaps = Path.Combine(repoDir, "snapshots");
        if (!Directory.Exists(snaps) || File.ResolveLinkTarget(snaps, false) is not null) return;
        var dirs = Directory.EnumerateDirectories(snaps, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }).ToList();
        foreach (var d in dirs.Where(d => File.ResolveLinkTarget(d, false) is null)) Directory.SetLastWriteTimeUtc(d, then);
    }
}

[Trait("level", "unit")]
public sealed class HfCacheSpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("aica-hf-").FullName;
    private readonly string _outside = Directory.CreateTempSubdirectory("aica-hf-outside-").FullName;
    private readonly RootedFs _fs;
    private readonly long _now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public HfCacheSpecs()
    {
        _fs = new RootedFs(_root);
        File.WriteAllText(Path.Combine(_outside, "victim"), "secret");
    }

    public void Dispose()
    {
        _fs.Dispose();
        Directory.Delete(_root, true);
        Directory.Delete(_outside, true);
    }

    private string Hub => Path.Combine(_root, "hub");

    private (List<HfRepoOutcome> Outcomes, SweepLog Log) Clean(bool dryRun = false, long? cutoff = null)
    {
        var log = new SweepLog();
        return (new HfCacheCleaner(_fs, 4).Clean("/hub", _now, cutoff, dryRun, log, TestContext.Current.CancellationToken), log);
    }

    private static string Listing(string dir) => string.Join("\n", Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories)
        .Order(StringComparer.Ordinal).Select(p => $"{p} {(File.ResolveLinkTarget(p, false) is { } t ? "-> " + t.ToString() : "")}"));

    [Theory]
    [InlineData(11)]
    [InlineData(23)]
    [InlineData(37)]
    public void The_model_matches_what_was_generated_revisions_refs_detached_and_blobs_counted_once(int seed)
    {
        var g = new GeneratedHub(Hub, seed, 8, _now);
        var (outcomes, _) = Clean(dryRun: true);
        Assert.Equal(g.Repos.Count, outcomes.Count);
        foreach (var want in g.Repos)
        {
            var got = outcomes.Single(o => o.Plan.Repo.Folder == want.Folder).Plan;
            var repo = got.Repo;
            Assert.Equal(want.Revs.Select(r => r.Commit).Order(), repo.Revisions.Select(r => r.Commit).Order());
            foreach (var rev in want.Revs)
            {
                var m = repo.Revisions.Single(r => r.Commit == rev.Commit);
                Assert.Equal(rev.Refs.Order(), m.Refs.Order());
                Assert.Equal(rev.Files.OrderBy(kv => kv.Key).Select(kv => (kv.Key, kv.Value)),
                    m.Files.OrderBy(x => x.Path).Select(x => (x.Path, x.Blob!)));
            }
            // Size on disk counts each blob once, however many revisions link to it.
            var blobBytes = want.Blobs.Keys.Sum(b => new FileInfo(Path.Combine(Hub, want.Folder, "blobs", b)).Length);
            Assert.Equal(want.Blobs.Values.Sum(), blobBytes);
            Assert.Equal(want.Blobs.Count, repo.Blobs.Count);
            Assert.Equal(want.Blobs.Values.Sum(), repo.Blobs.Values.Sum(b => b.Size));

            var detached = want.Revs.Where(r => r.Refs.Count == 0).Select(r => r.Commit).Order().ToList();
            Assert.Equal(detached, got.RemoveRevisions.Select(r => r.Commit).Order());
            var referenced = want.Revs.Where(r => r.Refs.Count > 0).SelectMany(r => r.Files.Values).ToHashSet();
            Assert.Equal(want.Blobs.Keys.Where(b => !referenced.Contains(b)).Order(StringComparer.Ordinal), got.RemoveBlobs.Select(b => b.Name));
            Assert.Equal(want.Incomplete.Where(i => i.Old).Select(i => i.Name).Order(), got.RemoveIncomplete.Select(b => b.Name).Order());
        }
    }

    [Theory]
    [InlineData(5)]
    [InlineData(8)]
    public void Dry_run_changes_nothing_and_the_clean_then_removes_exactly_the_plan_and_keeps_every_referenced_blob(int seed)
    {
        var g = new GeneratedHub(Hub, seed, 10, _now);
        var before = Listing(Hub);
        var (plan, dryLog) = Clean(dryRun: true);
        Assert.Equal(before, Listing(Hub));

        var (done, log) = Clean();
        Assert.Equal(dryLog.Freed, log.Freed);
        Assert.Equal(dryLog.Removed.Select(r => r.Path).Order(), log.Removed.Select(r => r.Path).Order());
        Assert.InRange(plan.Sum(o => o.Plan.Bytes), 1, log.Freed); // the plan's blob bytes; the clean also frees directory blocks
        foreach (var want in g.Repos)
        {
            var dir = Path.Combine(Hub, want.Folder);
            foreach (var rev in want.Revs)
            {
                var snap = Path.Combine(dir, "snapshots", rev.Commit);
                if (rev.Refs.Count == 0) { Assert.False(Directory.Exists(snap), snap); continue; }
                foreach (var file in rev.Files.Keys) Assert.True(File.Exists(Path.Combine(snap, file)), $"{snap}/{file} must still resolve");
            }
            var referenced = want.Revs.Where(r => r.Refs.Count > 0).SelectMany(r => r.Files.Values).ToHashSet();
            foreach (var b in want.Blobs.Keys) Assert.Equal(referenced.Contains(b), File.Exists(Path.Combine(dir, "blobs", b)));
            foreach (var (name, old) in want.Incomplete) Assert.Equal(!old, File.Exists(Path.Combine(dir, "blobs", name)));
        }
        // A second run finds nothing left to do.
        var (again, log2) = Clean();
        Assert.Equal(0, log2.Freed);
        Assert.All(again, o => Assert.True(o.Plan.Empty));
    }

    [Theory]
    [InlineData("../../blobs/abc", "abc")]
    [InlineData("../../../models--a--b/blobs/abc", "abc")]
    [InlineData("/h/models--a--b/blobs/abc", "abc")]
    [InlineData("..//.././blobs/abc", "abc")]
    [InlineData("/etc/passwd", null)]
    [InlineData("../../blobs/../../../../etc/passwd", null)]
    [InlineData("../../../models--other/blobs/abc", null)]
    [InlineData("../../blobs/sub/abc", null)]
    [InlineData("../../blobs/", null)]
    [InlineData("../../../../../h/models--a--b/blobs/abc", "abc")]
    [InlineData("", null)]
    public void Snapshot_links_are_resolved_lexically_to_the_repos_own_blobs_only(string text, string? blob) =>
        Assert.Equal(blob, HfCache.ResolveToBlob("/h/models--a--b", ["h", "models--a--b", "snapshots", "c1"], text));

    private string MakeRepo(string folder, out string blob, out string commit, bool detached)
    {
        var dir = Path.Combine(Hub, folder);
        blob = new string('b', 64);
        commit = new string('c', 40);
        Directory.CreateDirectory(Path.Combine(dir, "blobs"));
        Directory.CreateDirectory(Path.Combine(dir, "refs"));
        Directory.CreateDirectory(Path.Combine(dir, "snapshots", commit));
        File.WriteAllText(Path.Combine(dir, "blobs", blob), "weights");
        File.CreateSymbolicLink(Path.Combine(dir, "snapshots", commit, "model.bin"), "../../blobs/" + blob);
        if (!detached) File.WriteAllText(Path.Combine(dir, "refs", "main"), commit);
        GeneratedHub.Settle(dir, _now);
        return dir;
    }

    [Fact]
    public void A_detached_revision_linking_outside_is_removed_as_links_and_the_target_survives()
    {
        var dir = MakeRepo("models--x--y", out _, out var commit, detached: true);
        File.CreateSymbolicLink(Path.Combine(dir, "snapshots", commit, "evil"), Path.Combine(_outside, "victim"));
        File.CreateSymbolicLink(Path.Combine(dir, "snapshots", commit, "evil2"), "../../blobs/../../../../../../../../" + _outside.TrimStart('/') + "/victim");
        Directory.CreateSymbolicLink(Path.Combine(dir, "snapshots", commit, "evildir"), _outside);
        GeneratedHub.Settle(dir, _now);
        var (_, log) = Clean();
        Assert.Equal("secret", File.ReadAllText(Path.Combine(_outside, "victim")));
        Assert.False(Directory.Exists(Path.Combine(dir, "snapshots", commit)));
        Assert.Contains(log.Problems, p => p.Contains("evil ->") && p.Contains("never followed"));
        Assert.Contains(log.Problems, p => p.Contains("evil2 ->"));
        Assert.Empty(Directory.GetFiles(Path.Combine(dir, "blobs"))); // the blob only the detached revision used
    }

    [Fact]
    public void A_kept_revision_with_an_outside_link_keeps_every_blob_and_is_reported()
    {
        var dir = MakeRepo("models--x--y", out var blob, out var commit, detached: false);
        File.WriteAllText(Path.Combine(dir, "blobs", new string('d', 64)), "unreferenced");
        File.CreateSymbolicLink(Path.Combine(dir, "snapshots", commit, "evil"), Path.Combine(_outside, "victim"));
        var (_, log) = Clean();
        Assert.Equal("secret", File.ReadAllText(Path.Combine(_outside, "victim")));
        Assert.True(File.Exists(Path.Combine(dir, "blobs", new string('d', 64))));
        Assert.True(File.Exists(Path.Combine(dir, "blobs", blob)));
        Assert.Contains(log.Problems, p => p.Contains("evil ->"));
        Assert.Contains(log.Problems, p => p.Contains("no blob removed"));
    }

    [Fact]
    public void A_missing_blob_is_reported_and_nothing_referenced_is_removed()
    {
        var dir = MakeRepo("models--x--y", out var blob, out var commit, detached: false);
        File.CreateSymbolicLink(Path.Combine(dir, "snapshots", commit, "gone.bin"), "../../blobs/" + new string('e', 64));
        var (_, log) = Clean();
        Assert.Contains(log.Problems, p => p.Contains("gone.bin") && p.Contains("missing blob"));
        Assert.True(File.Exists(Path.Combine(dir, "blobs", blob)));
        Assert.True(File.Exists(Path.Combine(dir, "snapshots", commit, "model.bin")));
    }

    [Theory]
    [InlineData("not-a-commit\n")]
    [InlineData("")]
    [InlineData("link")]
    public void A_corrupt_ref_keeps_every_revision_and_is_reported(string content)
    {
        var dir = MakeRepo("models--x--y", out var blob, out var commit, detached: true);
        if (content == "link") File.CreateSymbolicLink(Path.Combine(dir, "refs", "main"), Path.Combine(_outside, "victim"));
        else File.WriteAllText(Path.Combine(dir, "refs", "main"), content);
        var (_, log) = Clean();
        Assert.Contains(log.Problems, p => p.Contains("corrupt ref"));
        Assert.True(File.Exists(Path.Combine(dir, "snapshots", commit, "model.bin")));
        Assert.True(File.Exists(Path.Combine(dir, "blobs", blob)));
        Assert.Equal("secret", File.ReadAllText(Path.Combine(_outside, "victim")));
    }

    [Fact]
    public void Blobs_or_snapshots_replaced_by_a_link_are_not_followed()
    {
        var dir = Path.Combine(Hub, "models--x--y");
        Directory.CreateDirectory(Path.Combine(dir, "refs"));
        Directory.CreateSymbolicLink(Path.Combine(dir, "blobs"), _outside);
        Directory.CreateSymbolicLink(Path.Combine(dir, "snapshots"), _outside);
        var (_, log) = Clean(cutoff: null);
        Assert.Equal("secret", File.ReadAllText(Path.Combine(_outside, "victim")));
        Assert.Contains(log.Problems, p => p.Contains("blobs is not a directory"));
    }

    [Fact]
    public void A_download_in_progress_without_a_lock_keeps_its_fresh_detached_revision_and_blobs()
    {
        // A snapshot_download pinned to a commit (no ref is written) between two files: no lock is held, the revision
        // is detached and its newest blob may not be linked yet.
        var dir = MakeRepo("models--x--y", out var blob, out var commit, detached: true);
        var fresh = new string('f', 64);
        File.WriteAllText(Path.Combine(dir, "blobs", fresh), "just renamed from .incomplete");
        File.CreateSymbolicLink(Path.Combine(dir, "snapshots", commit, "config.json"), "../../blobs/" + blob); // touches the revision now
        var (outcomes, _) = Clean();
        var plan = Assert.Single(outcomes).Plan;
        Assert.Empty(plan.RemoveRevisions);
        Assert.Empty(plan.RemoveBlobs);
        Assert.True(File.Exists(Path.Combine(dir, "snapshots", commit, "model.bin")));
        Assert.True(File.Exists(Path.Combine(dir, "blobs", fresh)));
        // Once it has settled (the download ended long ago), the same revision and blobs are garbage.
        GeneratedHub.Settle(dir, _now);
        var (after, _) = Clean();
        Assert.Single(Assert.Single(after).Plan.RemoveRevisions);
        Assert.False(Directory.Exists(Path.Combine(dir, "snapshots", commit)));
        Assert.Empty(Directory.GetFiles(Path.Combine(dir, "blobs")));
    }

    [Fact]
    public void A_repo_locked_by_another_process_is_skipped()
    {
        var dir = MakeRepo("models--x--y", out var blob, out var commit, detached: true);
        Directory.CreateDirectory(Path.Combine(Hub, ".locks", "models--x--y"));
        var lockPath = Path.Combine(Hub, ".locks", "models--x--y", blob + ".lock");
        File.WriteAllText(lockPath, "");
        // Another open file description holding the flock, as huggingface_hub's filelock does during a download.
        using (var other = Sys.OpenAt(Flags.AT_FDCWD, lockPath, Flags.O_RDONLY))
        {
            Assert.True(Sys.TryFlock(other, lockPath));
            var (outcomes, log) = Clean(cutoff: _now + 1);
            Assert.True(Assert.Single(outcomes).Locked);
            Assert.Contains(log.Problems, p => p.Contains("lock is held"));
            Assert.True(File.Exists(Path.Combine(dir, "snapshots", commit, "model.bin")));
            Sys.Funlock(other); // as filelock releases: at once, whatever process forked meanwhile still shares the file
        }
        var (after, _) = Clean();
        Assert.False(Assert.Single(after).Locked);
        Assert.False(Directory.Exists(Path.Combine(dir, "snapshots", commit)));
    }

    [Fact]
    public void A_lock_that_cannot_be_tested_counts_as_held()
    {
        // A lock file aica cannot open without following a link (filelock would lock the link's target): the repo is
        // skipped, never cleaned on the guess that nobody holds it.
        var dir = MakeRepo("models--x--y", out var blob, out var commit, detached: true);
        Directory.CreateDirectory(Path.Combine(Hub, ".locks", "models--x--y"));
        var target = Path.Combine(Hub, "elsewhere.lock");
        File.WriteAllText(target, "");
        File.CreateSymbolicLink(Path.Combine(Hub, ".locks", "models--x--y", blob + ".lock"), target);
        var (outcomes, log) = Clean(cutoff: _now + 1);
        Assert.True(Assert.Single(outcomes).Locked);
        Assert.Contains(log.Problems, p => p.Contains("cannot be tested"));
        Assert.True(File.Exists(Path.Combine(dir, "snapshots", commit, "model.bin")));
        Assert.True(File.Exists(target));
    }

    [Fact]
    public void Older_than_removes_whole_unused_repos_with_their_locks_and_never_a_token_file()
    {
        var oldDir = MakeRepo("models--old--one", out var oldBlob, out _, detached: false);
        var newDir = MakeRepo("datasets--new--one", out _, out _, detached: false);
        // Everything in the old repo, links included (touch -h), last used 40 days ago.
        Assert.Equal(0, Tools.Sh($"find '{oldDir}' -exec touch -h -d @{_now - 40 * 86400} {{}} +").ExitCode);
        Directory.CreateDirectory(Path.Combine(Hub, ".locks", "models--old--one"));
        File.WriteAllText(Path.Combine(Hub, ".locks", "models--old--one", oldBlob + ".lock"), "");
        File.WriteAllText(Path.Combine(Hub, "token"), "hf_secret");
        File.WriteAllText(Path.Combine(Hub, "stored_tokens"), "[x]");
        var (outcomes, log) = Clean(cutoff: _now - 30 * 86400);
        Assert.False(Directory.Exists(oldDir));
        Assert.False(Directory.Exists(Path.Combine(Hub, ".locks", "models--old--one")));
        Assert.True(Directory.Exists(newDir));
        Assert.Equal("hf_secret", File.ReadAllText(Path.Combine(Hub, "token")));
        Assert.True(File.Exists(Path.Combine(Hub, "stored_tokens")));
        Assert.Contains(log.Removed, r => r.Path == "/hub/models--old--one" && r.Reason.Contains("whole repo"));
        Assert.True(outcomes.Single(o => o.Plan.Repo.Folder == "models--old--one").Plan.RemoveRepo);
    }
}
