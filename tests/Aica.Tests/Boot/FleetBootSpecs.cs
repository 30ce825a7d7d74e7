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
    private BootNode[] Fleet(Func<int, NodeNetwork?>? network = null, bool installBinary = true)
    {
        var tree = image.Tree;
        Directory.CreateDirectory(Path.Combine(_layer, "etc"));
        Directory.CreateDirectory(Path.Combine(_layer, "usr"));
        var img = Tools.Run(Tools.AicaBin, ["--root", _layer, "init", "--image", _layer]);
        Assert.True(img.ExitCode == 0, img.ToString());
        for (var i = 1; i <= 3; i++) _nodes.Add(new BootNode(tree, RootReset.Home, _layer, $"fleet{i}", _data, network?.Invoke(i)));
        if (installBinary) Assert.Equal(0, Tools.Sh($"install -D -m 755 '{Tools.AicaBin}' '{_data}/bin/aica'").ExitCode);
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

    /// <summary>
    /// issue 14 point 5 (Ansible): contrib/ansible/site.yml run by ansible-playbook (Debian's ansible-core) over ssh
    /// against three booted nodes with an empty shared /data. The nodes sit on a bridge in a network namespace this
    /// test makes (never the host's network); ansible-playbook runs inside it.
    /// </summary>
    [Fact]
    public void The_ansible_role_installs_once_inits_every_node_and_gathers_one_report()
    {
        DebianImage.RequireBootable();
        if (Tools.Sh("command -v ansible-playbook").ExitCode != 0) Assert.Skip("needs ansible-playbook (Debian package ansible-core; make deps installs it)");
        var sw = Stopwatch.StartNew();
        using var net = new TestNetwork();
        var nodes = Fleet(i => new NodeNetwork(net.Namespace, TestNetwork.Bridge, net.Address(i)), installBinary: false);
        var work = Directory.CreateTempSubdirectory("aica-ansible-").FullName;
        var running = BootAll(nodes);
        try
        {
            Log($"three boots on the test network: {sw.Elapsed.TotalSeconds:F1}s");
            var key = Path.Combine(work, "id");
            Assert.Equal(0, Tools.Sh($"ssh-keygen -q -t ed25519 -N '' -C aica-ansible-test -f '{key}'").ExitCode);
            var pub = File.ReadAllText(key + ".pub").Trim();
            foreach (var n in running)
                Run(n, $"install -d -m 700 /root/.ssh && echo '{pub}' >> /root/.ssh/authorized_keys", "root key");
            File.WriteAllText(Path.Combine(work, "inventory"),
                "[aica_nodes]\n" + string.Join("", Enumerable.Range(1, 3).Select(i => $"fleet{i} ansible_host={net.Address(i)}\n")) +
                $"[aica_nodes:vars]\nansible_user=root\nansible_ssh_private_key_file={key}\nansible_python_interpreter=/usr/bin/python3\n" +
                "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10'\n");
            var report = Path.Combine(work, "report.json");
            var env = new Dictionary<string, string>
            {
                ["ANSIBLE_HOST_KEY_CHECKING"] = "False", ["ANSIBLE_LOCAL_TEMP"] = Path.Combine(work, "tmp"), ["ANSIBLE_NOCOLOR"] = "1",
                ["ANSIBLE_RETRY_FILES_ENABLED"] = "False",
            };
            var play = Tools.Run("nsenter", [$"--net=/run/netns/{net.Namespace}", "ansible-playbook", "-i", Path.Combine(work, "inventory"),
                Path.Combine(Tools.RepoRoot, "contrib/ansible/site.yml"), "-e", $"aica_binary={Tools.AicaBin}", "-e", $"aica_report={report}"], env, timeoutSeconds: 300);
            Log($"--- ansible-playbook ({sw.Elapsed.TotalSeconds:F1}s)\n{play.All}");
            Assert.True(play.ExitCode == 0, play.ToString());
            Assert.Matches(@"fleet1\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0", play.StdOut);
            var text = File.ReadAllText(report);
            Log($"--- report\n{text}");
            using var doc = System.Text.Json.JsonDocument.Parse(text);
            var root = doc.RootElement;
            foreach (var host in new[] { "fleet1", "fleet2", "fleet3" })
            {
                Assert.Equal(host, root.GetProperty("nodes").GetProperty(host).GetProperty("host").GetString());
                Assert.True(root.GetProperty("nodes").GetProperty(host).GetProperty("checks").GetArrayLength() > 10);
                Assert.Equal(host, root.GetProperty("facts").GetProperty(host).GetProperty("host").GetString());
            }
            Assert.Equal(3, root.GetProperty("fleet").GetProperty("nodes").GetArrayLength());
            // One copy of the binary on the shared disk, and every node initialised (its unit enabled).
            Assert.Equal(File.ReadAllBytes(Tools.AicaBin), File.ReadAllBytes(Path.Combine(_data, "bin/aica")));
            foreach (var n in running) Assert.Contains("enabled", n.Exec("systemctl is-enabled aica-recovery.service").StdOut);
        }
        finally
        {
            foreach (var r in running) r.Dispose();
            Tools.Sh($"rm -rf '{work}'");
        }
        Log($"ansible: {sw.Elapsed.TotalSeconds:F1}s");
    }
}

/// <summary>A network namespace of the test's own with one bridge; nodes join it with --network-bridge. Never the host's network.</summary>
public sealed class TestNetwork : IDisposable
{
    public const string Bridge = "br0";
    public string Namespace { get; } = $"aica-fleet-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";

    public TestNetwork()
    {
        var r = Tools.Sh($"ip netns add {Namespace} && ip -n {Namespace} link set lo up && ip -n {Namespace} link add {Bridge} type bridge && " +
                         $"ip -n {Namespace} addr add 10.231.0.1/24 dev {Bridge} && ip -n {Namespace} link set {Bridge} up");
        if (r.ExitCode != 0) { Dispose(); throw new InvalidOperationException($"cannot make the test network: {r}"); }
    }

    /// <summary>Node i's address; the controller (ansible-playbook) is 10.231.0.1 on the bridge.</summary>
    public string Address(int i) => $"10.231.0.{10 + i}";

    public void Dispose() => Tools.Sh($"ip netns del {Namespace}");
}
