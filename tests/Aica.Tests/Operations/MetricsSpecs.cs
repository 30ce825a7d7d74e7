using System.Text.Json;
using Aica.Tests.Infra;

namespace Aica.Tests.Operations;

/// <summary>The Prometheus writer and the test's own exposition parser, on input made to break them.</summary>
[Trait("level", "unit")]
public sealed class PromTextSpecs
{
    [Fact]
    public void Label_values_and_help_are_escaped_and_read_back_exactly()
    {
        var nasty = "a\"b\\c\nd";
        var text = new PromText()
            .Gauge("aica_x", "help with \\ and\na new line", [new PromSample(1.5, ("v", nasty)), new PromSample(double.NaN, ("v", "plain"))])
            .Gauge("aica_y", "y", 42)
            .ToString();
        Assert.Contains("aica_x{v=\"a\\\"b\\\\c\\nd\"} 1.5\n", text);
        Assert.Contains("# HELP aica_x help with \\\\ and\\na new line\n", text);
        var parsed = PromParser.Parse(text);
        Assert.Equal(nasty, parsed[0].Labels["v"]);
        Assert.True(double.IsNaN(parsed[1].Value));
        Assert.Equal(42, parsed.Single(p => p.Name == "aica_y").Value);
    }

    [Fact]
    public void A_family_twice_a_series_twice_or_a_bad_name_is_refused_by_the_writer()
    {
        var p = new PromText().Gauge("aica_a", "a", 1);
        Assert.Throws<InvalidOperationException>(() => p.Gauge("aica_a", "again", 2));
        Assert.Throws<InvalidOperationException>(() => new PromText().Gauge("aica_b", "b", [new PromSample(1, ("k", "v")), new PromSample(2, ("k", "v"))]));
        Assert.Throws<ArgumentException>(() => new PromText().Gauge("aica-c", "c", 1));
        Assert.Throws<ArgumentException>(() => new PromText().Gauge("9aica", "c", 1));
        Assert.Throws<ArgumentException>(() => new PromText().Gauge("aica_d", "d", [new PromSample(1, ("__reserved", "v"))]));
        Assert.Throws<ArgumentException>(() => new PromText().Gauge("aica_d", "d", [new PromSample(1, ("a:b", "v"))]));
        Assert.Equal("", new PromText().Gauge("aica_empty", "no samples", []).ToString());
    }

    [Theory]
    [InlineData("# HELP a x\n# TYPE a gauge\na 1 1700000000000\n")]           // a timestamp
    [InlineData("# HELP a x\n# HELP a y\n# TYPE a gauge\na 1\n")]            // two HELP
    [InlineData("# HELP a x\n# TYPE a gauge\n# TYPE a gauge\na 1\n")]        // two TYPE
    [InlineData("a 1\n")]                                                    // no HELP/TYPE
    [InlineData("# HELP a x\n# TYPE a gauge\na 1\n# HELP b x\n# TYPE b gauge\nb 1\na{k=\"v\"} 2\n")] // family split
    [InlineData("# HELP a x\n# TYPE a gauge\na{k=\"v\\t\"} 1\n")]           // bad escape
    [InlineData("# HELP a x\n# TYPE a gauge\na{k=\"v\"} 1\na{k=\"v\"} 2\n")] // same series twice
    [InlineData("# HELP a x\n# TYPE a gauge\na 1")]                          // no final line feed
    public void The_test_parser_rejects_what_node_exporter_rejects(string text) =>
        Assert.Throws<FormatException>(() => PromParser.Parse(text));
}

/// <summary>Black-box <c>aica metrics</c> on a sandbox server with users, a recovery and a du snapshot.</summary>
[Trait("level", "blackbox")]
public sealed class MetricsSpecs
{
    private static Sandbox Server()
    {
        var sb = Sandbox.WithUsers("alice", "bob");
        var rec = sb.Aica("recover", "-q");
        Assert.True(rec.ExitCode == 0, rec.ToString());
        return sb;
    }

    private static Dictionary<string, double> Series(List<PromLine> lines) =>
        lines.ToDictionary(l => l.Name + (l.Labels.Count == 0 ? "" : "{" + string.Join(",", l.Labels.OrderBy(x => x.Key).Select(x => $"{x.Key}={x.Value}")) + "}"), l => l.Value);

    [Fact]
    public void Metrics_parse_strictly_and_carry_node_doctor_recovery_disk_and_the_last_du_per_user_and_cache()
    {
        using var sb = Server();
        File.WriteAllBytes(sb.P("/data/users/alice/blob"), new byte[3 << 20]);
        var du = sb.Aica("du", "-q");
        Assert.True(du.ExitCode == 0, du.ToString());

        var r = sb.Aica("metrics");
        Assert.True(r.ExitCode == 0, r.ToString());
        var s = Series(PromParser.Parse(r.StdOut));
        Assert.Equal(1, s[$"aica_node_info{{node={Environment.MachineName},version={Tools.Aica("--version").StdOut.Trim()["aica ".Length..]}}}"]);
        Assert.True(s["aica_user_data_bytes{user=alice}"] >= 3 << 20);
        Assert.True(s["aica_user_data_bytes{user=bob}"] < 1 << 20);
        Assert.Contains("aica_cache_size_bytes{cache=conda}", s.Keys);
        Assert.Equal(90, s["aica_disk_threshold_percent{mount=/data}"]);
        Assert.InRange(s["aica_disk_used_percent{mount=/data}"], 0, 100);
        Assert.Equal(0, s["aica_disk_alert{mount=/data}"]);
        Assert.Equal(1, s["aica_recovery_last_success"]);
        Assert.Equal(2, s["aica_recovery_last_users"]);
        Assert.Equal(1, s["aica_recovery_last_status{status=ok}"]);
        Assert.InRange(s["aica_recovery_last_timestamp_seconds"], DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 600, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 5);
        Assert.True(s["aica_doctor_checks{category=home,status=pass}"] >= 2);
        // Low cardinality: doctor is per category, so no user's name appears outside the du figures.
        Assert.DoesNotContain(s.Keys, k => k.Contains("alice") && !k.StartsWith("aica_user_data_bytes"));
        Assert.DoesNotContain(s.Keys, k => k.StartsWith("aica_doctor") && k.Contains(':'));

        // The checks that walk whole shared caches (cache.*.group-writable) are doctor's, never a scrape's.
        var doctorIds = JsonDocument.Parse(sb.Aica("doctor", "--json").StdOut).RootElement.GetProperty("checks").EnumerateArray()
            .Select(c => c.GetProperty("id").GetString()!).Where(id => id.StartsWith("cache.")).ToList();
        Assert.Contains(doctorIds, id => id.EndsWith(".group-writable"));
        Assert.Equal(doctorIds.Count(id => !id.EndsWith(".group-writable")),
            s.Where(kv => kv.Key.StartsWith("aica_doctor_checks{category=cache,")).Sum(kv => kv.Value));

        // --json: the same samples as one document.
        var json = JsonDocument.Parse(sb.Aica("metrics", "--json").StdOut).RootElement.GetProperty("metrics");
        var info = json.EnumerateArray().Single(m => m.GetProperty("name").GetString() == "aica_node_info");
        Assert.Equal(Environment.MachineName, info.GetProperty("labels").GetProperty("node").GetString());
        Assert.Equal(1, info.GetProperty("value").GetDouble());
    }

    [Fact]
    public void A_scrape_never_walks_usage_comes_from_the_last_du_until_the_next_one()
    {
        using var sb = Server();
        Assert.Equal(0, Series(PromParser.Parse(sb.Aica("metrics").StdOut))["aica_du_recorded"]);
        Assert.Equal(0, sb.Aica("du", "-q").ExitCode);
        var before = Series(PromParser.Parse(sb.Aica("metrics").StdOut))["aica_user_data_bytes{user=alice}"];
        File.WriteAllBytes(sb.P("/data/users/alice/new"), new byte[2 << 20]);
        Assert.Equal(before, Series(PromParser.Parse(sb.Aica("metrics").StdOut))["aica_user_data_bytes{user=alice}"]);
        Assert.Equal(0, sb.Aica("du", "-q").ExitCode);
        Assert.True(Series(PromParser.Parse(sb.Aica("metrics").StdOut))["aica_user_data_bytes{user=alice}"] >= before + (2 << 20));
    }

    [Fact]
    public void A_du_snapshot_members_could_write_is_not_trusted()
    {
        using var sb = Server();
        Assert.Equal(0, sb.Aica("du", "-q").ExitCode);
        Tools.Sh($"chmod 666 '{sb.P("/data/admin/du-last.json")}'");
        var s = Series(PromParser.Parse(sb.Aica("metrics").StdOut));
        Assert.Equal(0, s["aica_du_recorded"]);
        Assert.DoesNotContain("aica_user_data_bytes{user=alice}", s.Keys);
    }

    [Fact]
    public void Textfile_mode_writes_aica_prom_0644_atomically_and_leaves_no_temp_file()
    {
        using var sb = Server();
        var dir = sb.P("/var/lib/prometheus/node-exporter");
        Directory.CreateDirectory(dir);
        var r = sb.Aica("metrics", "--textfile", "/var/lib/prometheus/node-exporter", "-q");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("", r.StdOut);
        PromParser.Parse(File.ReadAllText(Path.Combine(dir, "aica.prom")));
        Assert.Equal("root:root 644 regular file", sb.Stat("/var/lib/prometheus/node-exporter/aica.prom"));
        Assert.Equal(["aica.prom"], Directory.GetFiles(dir).Select(Path.GetFileName).ToArray());
    }

    [Fact]
    public void A_missing_or_non_directory_textfile_dir_fails_loudly_and_writes_nothing()
    {
        using var sb = Server();
        var missing = sb.Aica("metrics", "--textfile", "/var/lib/prometheus/node-exporter");
        Assert.True(missing.ExitCode == 1, missing.ToString());
        Assert.Contains("node-exporter does not exist: nothing written", missing.StdErr);
        Assert.False(Directory.Exists(sb.P("/var/lib/prometheus")));

        File.WriteAllText(sb.P("/tmp/afile"), "x");
        var notDir = sb.Aica("metrics", "--textfile", "/tmp/afile");
        Assert.True(notDir.ExitCode == 1, notDir.ToString());
        Assert.Contains("is not a directory", notDir.StdErr);

        var relative = sb.Aica("metrics", "--textfile", "relative/dir", "--json");
        Assert.True(relative.ExitCode == 2, relative.ToString());
        Assert.Contains("\"exit_code\": 2", relative.StdOut);
    }

    [Fact]
    public void A_full_textfile_dir_fails_loudly_and_the_previous_file_stays_whole()
    {
        using var sb = Server();
        var dir = sb.P("/srv/tf");
        Directory.CreateDirectory(dir);
        Assert.Equal(0, Tools.Sh($"mount -t tmpfs -o size=64k aica-tf '{dir}'").ExitCode);
        try
        {
            var old = "# HELP aica_old old\n# TYPE aica_old gauge\naica_old 1\n";
            File.WriteAllText(Path.Combine(dir, "aica.prom"), old);
            Tools.Sh($"dd if=/dev/zero of='{dir}/fill' bs=4k 2>/dev/null; true");
            var r = sb.Aica("metrics", "--textfile", "/srv/tf");
            Assert.True(r.ExitCode == 1, r.ToString());
            Assert.Contains("no space left on device", r.StdErr);
            Assert.Contains("previous file", r.StdErr);
            Assert.Equal(old, File.ReadAllText(Path.Combine(dir, "aica.prom")));
            Assert.DoesNotContain(Directory.GetFiles(dir), f => f.EndsWith(".tmp"));
        }
        finally { Tools.Sh($"umount -l '{dir}'"); }
    }
}
