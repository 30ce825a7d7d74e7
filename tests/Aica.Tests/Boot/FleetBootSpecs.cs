using System.Diagnostics;
using System.Security.Cryptography;
using Aica.Tests.Infra;

namespace Aica.Tests.Boot;

/// <summary>
/// issue 14 point 6: three real nodes (systemd as PID 1 each, one overlay each on the one image) bind the same /data
/// folder, as GPU nodes mount one NFS export. The unit is baked into the image, so every boot recovers.
/// </summary>
[Collection("boot")]
[Trait("level", "boot")]
public sealed class FleetBootSpecs(DebianImage image) : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("aica-fleet-data-").FullName;
    private readonly string _layer = Directory.CreateTempSubdirectory("aica-fleet-layer-").FullName;
    private readonly List<BootNode> _nodes = [];

    public void Dispose()
    {
        foreach (var n in _nodes) n.Dispose();
        Tools.Sh($"rm -rf --one-file-system '{_data}' '{_layer}'");
    }

    private static void Log(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);

    private static string Run(BootNode.Running node, string script, string what)
    {
        var r = node.Exec(script, 240);
        Log($"--- {what}\n{r.All}");
        Assert.True(r.ExitCode == 0, $"{what} failed: {r}");
        return r.StdOut;
    }

    /// <summary>Three nodes on the image with the unit baked in (what a fleet's admin builds once), all binding one /data.</summary>
    private BootNode[] Fleet(Func<int, NodeNetwork?>? network = null)
    {
        var tree = image.Tree;
        Directory.CreateDirectory(Path.Combine(_layer, "etc"));
        Directory.CreateDirectory(Path.Combine(_layer, "usr"));
        var img = Tools.Run(Tools.AicaBin, ["--root", _layer, "init", "--image", _layer]);
        Assert.True(img.ExitCode == 0, img.ToString());
        for (var i = 1; i <= 3; i++) _nodes.Add(new BootNode(tree, RootReset.Home, _layer, $"fleet{i}", _data, network?.Invoke(i)));
        Assert.Equal(0, Tools.Sh($"install -D -m 755 '{Tools.AicaBin}' '{_data}/bin/aica'").ExitCode);
        return [.. _nodes];
    }

    /// <summary>Boots the nodes at the same time; each recovers from the shared /data during its boot.</summary>
    private static BootNode.Running[] BootAll(IEnumerable<BootNode> nodes)
    {
        var boots = nodes.Select(n => Task.Run(() => n.Boot(timeoutSeconds: 180))).ToArray();
        try { Task.WaitAll(boots); }
        catch (AggregateException)
        {
            foreach (var b in boots.Where(b => b.IsCompletedSuccessfully)) b.Result.Dispose();
            throw;
        }
        return boots.Select(b => b.Result).ToArray();
    }

    private string RegistryHash => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(_data, "config/users.txt"))));

    [Fact]
    public void Three_nodes_on_one_data_recover_concurrently_and_agree_on_every_id()
    {
        DebianImage.RequireBootable();
        var sw = Stopwatch.StartNew();
        var nodes = Fleet();
        using (var first = nodes[0].Boot())
            Run(first, """
                set -eu
                /data/bin/aica init --gid 2000
                for i in 1 2 3 4 5 6; do /data/bin/aica user add "u0$i" --uid "300$i" >/dev/null; done
                """, "init and six users on fleet1");
        var registry = RegistryHash;
        Log($"setup: {sw.Elapsed.TotalSeconds:F1}s");

        var running = BootAll(nodes);
        try
        {
            Log($"three concurrent boots: {sw.Elapsed.TotalSeconds:F1}s");
            var ids = new List<string>();
            foreach (var node in running)
            {
                var unit = node.Show("aica-recovery.service", "Result", "ExecMainStatus");
                Assert.True(node.State == "running", $"boot state {node.State}: failed units {node.FailedUnits}");
                Assert.Equal(("success", "0"), (unit["Result"], unit["ExecMainStatus"]));
                var o = Run(node, """
                    echo "host: $(hostname)"
                    for u in u01 u02 u03 u04 u05 u06; do getent passwd "$u" | cut -d: -f1,3,4; done
                    /data/bin/aica doctor -q >/dev/null 2>&1; echo "doctor-rc: $?"
                    """, "ids and doctor");
                Assert.Contains("doctor-rc: 0", o);
                ids.Add(o[(o.IndexOf('\n') + 1)..]);
            }
            Assert.Equal(6, ids[0].Split('\n', StringSplitOptions.RemoveEmptyEntries).Length - 1);
            Assert.All(ids, x => Assert.Equal(ids[0], x));
            // Three recoveries at the same time left the registry exactly as it was.
            Assert.Equal(registry, RegistryHash);
        }
        finally
        {
            foreach (var r in running) r.Dispose();
        }
        Log($"fleet: {sw.Elapsed.TotalSeconds:F1}s");
    }
}
