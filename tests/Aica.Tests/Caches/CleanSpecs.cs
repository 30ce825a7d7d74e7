using System.Text.Json;
using Aica.Native;
using Aica.Site;
using Aica.Tests.Infra;

namespace Aica.Tests.Caches;

/// <summary>Black-box <c>aica clean</c> on a sandbox server (--root, tmpfs /data).</summary>
public sealed class CleanSpecs
{
    private static Sandbox Server() => Sandbox.WithUsers("alice", "bob");

    private static void Write(Sandbox sb, string path, int bytes = 5000, int? ageDays = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(sb.P(path))!);
        File.WriteAllBytes(sb.P(path), new byte[bytes]);
        if (ageDays is { } d) Tools.Sh($"touch -h -d @{DateTimeOffset.UtcNow.ToUnixTimeSeconds() - d * 86400L} '{sb.P(path)}'");
    }

    private static JsonElement Json(RunResult r) => JsonDocument.Parse(r.StdOut).RootElement;

    private static JsonElement Target(JsonElement doc, string name, string? user = null) =>
        doc.GetProperty("targets").EnumerateArray().Single(t => t.GetProperty("target").GetString() == name
            && (user is null || t.GetProperty("user").GetString() == user));

    [Trait("level", "blackbox")]
    [Theory]
    [InlineData("clean", "--older-than", "-1")]
    [InlineData("clean", "--older-than", "abc")]
    [InlineData("clean", "--pip", "--older-than", "-1")]
    [InlineData("clean", "--bogus")]
    [InlineData("clean")]
    [InlineData("clean", "--pip", "--user", "Bad;Name")]
    [InlineData("clean", "--pip", "--user", "nobody-registered")]
    [InlineData("clean", "--pip", "/etc")]
    [InlineData("disk", "--threshold", "abc")]
    [InlineData("disk", "--threshold", "0")]
    [InlineData("disk", "--threshold", "100")]
    [InlineData("disk", "--threshold", "150")]
    [InlineData("disk", "--threshold", "-5")]
    [InlineData("du", "--top", "0")]
    [InlineData("du", "/data/../../etc/nope")]
    public void Bad_input_is_exit_2_and_changes_nothing(params string[] args)
    {
        using var sb = Server();
        Write(sb, "/data/users/alice/.cache/pip/http/a", 100);
        var before = Tools.Sh($"find '{sb.P("/data")}' '{sb.P("/var/log")}' -printf '%p %s %T@\\n' | sort").StdOut;
        var r = sb.Aica(args);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Equal("", r.StdOut.Trim());
        Assert.Equal(before, Tools.Sh($"find '{sb.P("/data")}' '{sb.P("/var/log")}' -printf '%p %s %T@\\n' | sort").StdOut);
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Torch_hub_replaced_by_a_link_to_etc_victim_is_removed_as_a_link_and_the_victim_is_intact()
    {
        using var sb = Server();
        Directory.CreateDirectory(sb.P("/etc/victim"));
        File.WriteAllText(sb.P("/etc/victim/passwd"), "secret");
        Write(sb, "/data/models/torch/checkpoints/resnet.pth", 20000);
        File.CreateSymbolicLink(sb.P("/data/models/torch/hub"), sb.P("/etc/victim"));
        var r = sb.Aica("clean", "--torch");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("hub is a symlink to", r.All);
        Assert.Equal("secret", File.ReadAllText(sb.P("/etc/victim/passwd")));
        Assert.False(File.Exists(sb.P("/data/models/torch/hub")) || Directory.Exists(sb.P("/data/models/torch/hub")));
        Assert.True(Directory.Exists(sb.P("/data/models/torch")), "the cache root itself stays");
        Assert.Empty(Directory.GetFileSystemEntries(sb.P("/data/models/torch")));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void A_cache_root_replaced_by_a_link_fails_that_target_and_nothing_outside_changes()
    {
        using var sb = Server();
        Directory.CreateDirectory(sb.P("/etc/victim"));
        File.WriteAllText(sb.P("/etc/victim/passwd"), "secret");
        Directory.Delete(sb.P("/data/models/flux"));
        Directory.CreateSymbolicLink(sb.P("/data/models/flux"), sb.P("/etc/victim"));
        Write(sb, "/data/models/comfyui/x.safetensors");
        var r = sb.Aica("clean", "--flux", "--comfyui", "--json");
        Assert.True(r.ExitCode == 1, r.ToString());
        var doc = Json(r);
        Assert.Equal("failed", Target(doc, "flux").GetProperty("status").GetString());
        Assert.Contains("symlink", Target(doc, "flux").GetProperty("error").GetString());
        Assert.Equal("ok", Target(doc, "comfyui").GetProperty("status").GetString());
        Assert.Equal("secret", File.ReadAllText(sb.P("/etc/victim/passwd")));
        Assert.False(File.Exists(sb.P("/data/models/comfyui/x.safetensors")));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void All_goes_on_past_a_failing_target_reports_each_target_and_exits_1()
    {
        using var sb = Server();
        Write(sb, "/data/models/comfyui/a.bin", 8192);
        Write(sb, "/data/users/alice/.cache/pip/wheels/x.whl", 4096);
        Write(sb, "/data/users/bob/.npm/_cacache/y", 4096);
        Directory.CreateDirectory(sb.P("/etc/victim"));
        Directory.Delete(sb.P("/data/models/flux"));
        Directory.CreateSymbolicLink(sb.P("/data/models/flux"), sb.P("/etc/victim"));
        var r = sb.Aica("clean", "--all", "--json");
        Assert.True(r.ExitCode == 1, r.ToString());
        var doc = Json(r);
        Assert.Equal("failed", Target(doc, "flux").GetProperty("status").GetString());
        Assert.Contains("symlink", Target(doc, "flux").GetProperty("error").GetString());
        foreach (var t in new[] { "conda", "torch", "hf", "comfyui" }) Assert.Equal("ok", Target(doc, t).GetProperty("status").GetString());
        foreach (var u in new[] { "alice", "bob" })
            foreach (var t in new[] { "pip", "uv", "npm" }) Assert.Equal("ok", Target(doc, t, u).GetProperty("status").GetString());
        Assert.Equal(1, doc.GetProperty("failed").GetInt32());
        Assert.True(Target(doc, "comfyui").GetProperty("bytes_freed").GetInt64() >= 8192);
        Assert.Equal(doc.GetProperty("targets").EnumerateArray().Sum(t => t.GetProperty("bytes_freed").GetInt64()), doc.GetProperty("total_bytes_freed").GetInt64());
        Assert.False(File.Exists(sb.P("/data/users/alice/.cache/pip/wheels/x.whl")));
        Assert.False(File.Exists(sb.P("/data/users/bob/.npm/_cacache/y")));
        Assert.True(Directory.Exists(sb.P("/data/users/bob/.npm")));
        Assert.Contains("clean: conda pip uv npm torch hf comfyui flux", File.ReadAllText(sb.P("/data/admin/log/aica.log")));
        Assert.Contains(", 1 failed (by root)", File.ReadAllText(sb.P("/data/admin/log/aica.log")));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Older_than_keeps_what_was_used_recently_and_user_restricts_to_one_user()
    {
        using var sb = Server();
        Write(sb, "/data/users/alice/.cache/pip/http/old/a", 4096, ageDays: 40);
        Write(sb, "/data/users/alice/.cache/pip/http/old/b", 4096, ageDays: 35);
        Write(sb, "/data/users/alice/.cache/pip/http/new/c", 4096, ageDays: 2);
        Write(sb, "/data/users/bob/.cache/pip/http/old/a", 4096, ageDays: 40);
        Tools.Sh($"touch -d @{DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 40 * 86400L} '{sb.P("/data/users/alice/.cache/pip/http/old")}'");
        var dry = sb.Aica("clean", "--pip", "--user", "alice", "--older-than", "30", "--dry-run");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        Assert.Contains("remove /data/users/alice/.cache/pip/http/old  ", dry.StdOut); // a whole old directory is one item
        Assert.DoesNotContain("/new", dry.StdOut);
        Assert.DoesNotContain("bob", dry.StdOut);
        Assert.True(File.Exists(sb.P("/data/users/alice/.cache/pip/http/old/a")));

        var r = sb.Aica("clean", "--pip", "--user", "alice", "--older-than", "30");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.False(Directory.Exists(sb.P("/data/users/alice/.cache/pip/http/old")));
        Assert.True(File.Exists(sb.P("/data/users/alice/.cache/pip/http/new/c")));
        Assert.True(File.Exists(sb.P("/data/users/bob/.cache/pip/http/old/a")));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void A_users_cache_dir_planted_as_a_link_fails_that_user_only()
    {
        using var sb = Server();
        Directory.CreateDirectory(sb.P("/etc/victim"));
        File.WriteAllText(sb.P("/etc/victim/shadow"), "secret");
        Directory.CreateDirectory(sb.P("/data/users/alice"));
        Directory.CreateSymbolicLink(sb.P("/data/users/alice/.cache"), sb.P("/etc/victim"));
        Write(sb, "/data/users/bob/.cache/uv/x", 100);
        var r = sb.Aica("clean", "--uv", "--pip", "--json");
        Assert.True(r.ExitCode == 1, r.ToString());
        var doc = Json(r);
        Assert.Equal("failed", Target(doc, "pip", "alice").GetProperty("status").GetString());
        Assert.Equal("ok", Target(doc, "uv", "bob").GetProperty("status").GetString());
        Assert.Equal("secret", File.ReadAllText(sb.P("/etc/victim/shadow")));
        Assert.False(File.Exists(sb.P("/data/users/bob/.cache/uv/x")));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Nfs_busy_files_are_skipped_and_counted_and_hard_links_to_outside_files_only_lose_their_name()
    {
        using var sb = Server();
        File.WriteAllText(sb.P("/data/admin/victim"), "secret"); // a hard link must be on the same file system
        Write(sb, "/data/models/comfyui/sub/.nfs000000001234", 100);
        Write(sb, "/data/models/comfyui/sub/model.ckpt", 100);
        Assert.Equal(0, Tools.Sh($"ln '{sb.P("/data/admin/victim")}' '{sb.P("/data/models/comfyui/hardlink")}'").ExitCode);
        var r = sb.Aica("clean", "--comfyui", "--json");
        Assert.True(r.ExitCode == 0, r.ToString());
        var t = Target(Json(r), "comfyui");
        Assert.Equal(1, t.GetProperty("busy_skipped").GetInt32());
        Assert.True(File.Exists(sb.P("/data/models/comfyui/sub/.nfs000000001234")));
        Assert.False(File.Exists(sb.P("/data/models/comfyui/sub/model.ckpt")));
        Assert.False(File.Exists(sb.P("/data/models/comfyui/hardlink")));
        Assert.Equal("secret", File.ReadAllText(sb.P("/data/admin/victim")));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void A_uv_cache_whose_lock_another_process_holds_is_skipped_and_its_lock_file_is_never_removed()
    {
        using var sb = Server();
        Write(sb, "/data/users/alice/.cache/uv/wheels-v5/pypi/torch/torch.whl", 8192);
        Write(sb, "/data/users/alice/.cache/uv/.lock", 0);
        var lockPath = sb.P("/data/users/alice/.cache/uv/.lock");
        // uv holds this flock while it installs from the cache.
        using (var other = Sys.OpenAt(Flags.AT_FDCWD, lockPath, Flags.O_RDONLY))
        {
            Assert.True(Sys.TryFlock(other, lockPath));
            var busy = sb.Aica("clean", "--uv", "--user", "alice");
            Assert.True(busy.ExitCode == 0, busy.ToString());
            Assert.Contains("uv is using this cache", busy.StdOut);
            Assert.True(File.Exists(sb.P("/data/users/alice/.cache/uv/wheels-v5/pypi/torch/torch.whl")));
        }
        var r = sb.Aica("clean", "--uv", "--user", "alice");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.False(Directory.Exists(sb.P("/data/users/alice/.cache/uv/wheels-v5")));
        Assert.True(File.Exists(lockPath), "the lock file stays: a uv starting meanwhile locks the same inode");
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Hf_through_the_cli_removes_a_detached_revision_without_following_its_planted_link()
    {
        using var sb = Server();
        File.WriteAllText(sb.P("/etc/victim"), "secret");
        var hub = sb.P("/data/models/huggingface/hub");
        var repo = Path.Combine(hub, "models--org--m");
        string c1 = new('1', 40), c2 = new('2', 40), b1 = new('a', 64), b2 = new('b', 64);
        foreach (var d in new[] { "blobs", "refs", $"snapshots/{c1}", $"snapshots/{c2}" }) Directory.CreateDirectory(Path.Combine(repo, d));
        File.WriteAllText(Path.Combine(repo, "blobs", b1), "current");
        File.WriteAllText(Path.Combine(repo, "blobs", b2), "old weights");
        File.WriteAllText(Path.Combine(repo, "refs", "main"), c1);
        File.CreateSymbolicLink(Path.Combine(repo, "snapshots", c1, "model.bin"), $"../../blobs/{b1}");
        File.CreateSymbolicLink(Path.Combine(repo, "snapshots", c2, "model.bin"), $"../../blobs/{b2}");
        File.CreateSymbolicLink(Path.Combine(repo, "snapshots", c2, "config.json"), sb.P("/etc/victim"));
        File.WriteAllText(Path.Combine(hub, "token"), "hf_secret");
        GeneratedHub.Settle(repo, DateTimeOffset.UtcNow.ToUnixTimeSeconds()); // no download in progress
        var scan = sb.Aica("clean", "--hf", "--dry-run", "-v");
        Assert.True(scan.ExitCode == 0, scan.ToString());
        Assert.Contains("model org/m: 2 revision(s) (1 detached), 1 ref(s), 2 blob(s)", scan.StdOut);
        Assert.Contains($"remove /data/models/huggingface/hub/models--org--m/snapshots/{c2}", scan.StdOut);
        Assert.Contains($"remove /data/models/huggingface/hub/models--org--m/blobs/{b2}", scan.StdOut);
        Assert.True(Directory.Exists(Path.Combine(repo, "snapshots", c2)));
        var r = sb.Aica("clean", "--hf", "--json");
        Assert.True(r.ExitCode == 0, r.ToString());
        var t = Target(Json(r), "hf");
        Assert.Contains(t.GetProperty("problems").EnumerateArray(), p => p.GetString()!.Contains("config.json ->"));
        var repoJson = Assert.Single(t.GetProperty("repos").EnumerateArray());
        Assert.Equal("org/m", repoJson.GetProperty("id").GetString());
        Assert.Equal("secret", File.ReadAllText(sb.P("/etc/victim")));
        Assert.Equal("hf_secret", File.ReadAllText(Path.Combine(hub, "token")));
        Assert.False(Directory.Exists(Path.Combine(repo, "snapshots", c2)));
        Assert.False(File.Exists(Path.Combine(repo, "blobs", b2)));
        Assert.Equal("current", File.ReadAllText(Path.Combine(repo, "snapshots", c1, "model.bin")));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Hf_with_older_than_also_ages_out_the_datasets_cache_and_keeps_it_without()
    {
        using var sb = Server();
        Write(sb, "/data/models/huggingface/datasets/squad/default/0.0.0/abc/old.arrow", 4096, ageDays: 60);
        Write(sb, "/data/models/huggingface/datasets/squad/default/0.0.0/abc/new.arrow", 4096, ageDays: 1);
        Write(sb, "/data/models/huggingface/datasets/token", 10, ageDays: 60);
        Assert.Equal(0, sb.Aica("clean", "--hf").ExitCode);
        Assert.True(File.Exists(sb.P("/data/models/huggingface/datasets/squad/default/0.0.0/abc/old.arrow")));
        var r = sb.Aica("clean", "--hf", "--older-than", "30");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.False(File.Exists(sb.P("/data/models/huggingface/datasets/squad/default/0.0.0/abc/old.arrow")));
        Assert.True(File.Exists(sb.P("/data/models/huggingface/datasets/squad/default/0.0.0/abc/new.arrow")));
        Assert.True(File.Exists(sb.P("/data/models/huggingface/datasets/token")));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Nesting_deeper_than_the_limit_is_reported_and_left_while_the_rest_is_cleaned()
    {
        using var sb = Server();
        var deep = "/data/models/flux/n" + string.Concat(Enumerable.Repeat("/n", 300));
        Directory.CreateDirectory(sb.P(deep));
        File.WriteAllText(sb.P(deep + "/bottom"), "x");
        Write(sb, "/data/models/flux/shallow.bin", 100);
        var r = sb.Aica("clean", "--flux");
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("levels deep, not entered", r.All);
        Assert.True(File.Exists(sb.P(deep + "/bottom")));
        Assert.False(File.Exists(sb.P("/data/models/flux/shallow.bin")));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Clean_refuses_when_data_is_not_mounted()
    {
        Require.Root();
        using var sb = new Sandbox(mountData: false);
        var r = sb.Aica("clean", "--torch");
        Assert.True(r.ExitCode == 3, r.ToString());
    }
}

/// <summary>The sudoers drop-in and cron file init writes for the caches.</summary>
public sealed class CacheShimSpecs
{
    [Trait("level", "blackbox")]
    [Fact]
    public void Sudoers_allows_members_only_exact_safe_forms_and_visudo_accepts_it()
    {
        var text = Aica.Site.Templates.Sudoers(new Aica.Config.AicaConfig());
        var cmds = text[text.IndexOf("AICA_MEMBER =", StringComparison.Ordinal)..text.IndexOf("\n%", StringComparison.Ordinal)];
        foreach (var bad in new[] { "*", "--root", "--user", "--older-than", "--threshold", "--all", "--torch", "--comfyui", "--flux", "ALL" })
            Assert.DoesNotContain(bad, cmds);
        foreach (var want in new[] { "/data/bin/aica clean --pip,", "/data/bin/aica clean --pip --uv --npm,", "/data/bin/aica clean --hf --dry-run,", "/data/bin/aica disk," })
            Assert.Contains(want, cmds);
        if (Tools.Run("/bin/sh", ["-c", "command -v visudo"]).ExitCode != 0) Assert.Skip("visudo not installed (make deps)");
        var f = Path.GetTempFileName();
        try
        {
            File.WriteAllText(f, text);
            var r = Tools.Run("visudo", ["-cf", f]);
            Assert.True(r.ExitCode == 0, r.ToString());
        }
        finally { File.Delete(f); }
    }

    [Trait("level", "unit")]
    [Fact]
    public void Cron_runs_the_daily_clean_and_hourly_disk_as_root_into_the_persistent_log()
    {
        var lines = Aica.Site.Templates.Cron(new Aica.Config.AicaConfig()).Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.Contains("17 3 * * * root /data/bin/aica clean --all --older-than 30 -q >> /data/admin/log/aica-cron.log 2>&1", lines);
        Assert.Contains("5 * * * * root /data/bin/aica disk -q >> /data/admin/log/aica-cron.log 2>&1", lines);
    }
}
