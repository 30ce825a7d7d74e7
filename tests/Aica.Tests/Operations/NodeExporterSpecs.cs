using System.Diagnostics;
using Aica.Tests.Infra;

namespace Aica.Tests.Operations;

/// <summary>
/// The real prometheus-node-exporter (Debian package) reads the aica.prom a simulated server wrote. It runs in its own
/// network namespace (<c>unshare -n</c>, loopback only) and is scraped from inside it: the host's network is never used.
/// </summary>
[Trait("level", "sim")]
public sealed class NodeExporterSpecs
{
    private const string Exporter = "/usr/bin/prometheus-node-exporter";

    [Fact]
    public async Task Node_exporters_textfile_collector_serves_aicas_metrics_with_no_scrape_error()
    {
        Require.Root();
        Assert.True(File.Exists(Exporter), "prometheus-node-exporter is not installed (make deps installs it)");
        using var sim = new SimServer();
        var boot = sim.Boot(Reset.None, """
            $AICA init --gid 2500 -q >/dev/null || exit 10
            /data/bin/aica user add alice --uid 3001 -q >/dev/null || exit 11
            /data/bin/aica recover -q || exit 12
            /data/bin/aica du -q >/dev/null || exit 13
            mkdir -p /data/textfile
            /data/bin/aica metrics --textfile /data/textfile -q || exit 14
            """);
        Assert.True(boot.ExitCode == 0, boot.ToString());
        var textfileDir = Path.Combine(sim.Data, "textfile");
        Assert.True(File.Exists(Path.Combine(textfileDir, "aica.prom")));

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(60));
        var psi = new ProcessStartInfo("unshare") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "-n", "/bin/sh", "-c",
            $"ip link set lo up && exec {Exporter} --web.listen-address=127.0.0.1:9100 --collector.disable-defaults --collector.textfile --collector.textfile.directory='{textfileDir}'" })
            psi.ArgumentList.Add(a);
        using var exporter = Process.Start(psi)!;
        try
        {
            // Ready when it says it listens (its log is on stderr): waited for with the token, no sleeps, no polling.
            var log = new System.Text.StringBuilder();
            while (true)
            {
                var line = await exporter.StandardError.ReadLineAsync(cts.Token);
                Assert.True(line is not null, $"node_exporter exited: {log}");
                log.AppendLine(line);
                if (line.Contains("Listening on")) break;
            }
            _ = exporter.StandardError.ReadToEndAsync(cts.Token);
            // The scrape from inside its namespace (the exporter's pid names it).
            var scrape = Tools.Run("nsenter", ["-t", exporter.Id.ToString(), "-n", "curl", "-sS", "--max-time", "20", "http://127.0.0.1:9100/metrics"], timeoutSeconds: 30);
            Assert.True(scrape.ExitCode == 0, scrape.ToString());
            var lines = scrape.StdOut.Split('\n');
            Assert.Contains("node_textfile_scrape_error 0", lines);
            Assert.Contains(lines, l => l.StartsWith("aica_node_info{node=\"") && l.EndsWith("} 1"));
            Assert.Contains(lines, l => l.StartsWith("aica_user_data_bytes{user=\"alice\"}"));
            Assert.Contains("aica_recovery_last_success 1", lines);
            Assert.Contains(lines, l => l.StartsWith("aica_disk_used_percent{mount=\"/data\"}"));
            Assert.Contains(lines, l => l.StartsWith("node_textfile_mtime_seconds{file=\"") && l.Contains("aica.prom"));
            // Exactly one HELP per aica metric in what the exporter serves.
            var helps = lines.Where(l => l.StartsWith("# HELP aica_")).Select(l => l.Split(' ')[2]).ToList();
            Assert.Equal(helps.Count, helps.Distinct().Count());
            Assert.True(helps.Count >= 15, string.Join(", ", helps));
        }
        finally
        {
            try { exporter.Kill(); } catch (InvalidOperationException) { }
            await exporter.WaitForExitAsync(CancellationToken.None);
        }
    }
}
