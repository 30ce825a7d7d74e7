using Aica.Site;
using System.Text.Json;
using Aica.Config;
using Aica.Contracts;
using Aica.Fleet;
using Aica.Services;
using Aica.Tests.Infra;

namespace Aica.Tests.Fleet;

/// <summary>Issue 14 point 3: <c>aica fleet status</c> over fixture node files, and doctor's warning about other nodes' conflicts.</summary>
[Trait("level", "unit")]
public sealed class FleetStatusSpecs : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 10, 0, 0, TimeSpan.Zero);
    private readonly string _root = Directory.CreateTempSubdirectory("aica-fleet-").FullName;

    private sealed class FixedClock : Aica.Clock { public override DateTime Now => FleetStatusSpecs.Now.UtcDateTime; }

    public FleetStatusSpecs()
    {
        Directory.CreateDirectory(P("/data/admin/nodes"));
        Directory.CreateDirectory(P("/data/config"));
        File.WriteAllText(P("/data/config/users.txt"), "# generation 12\nalice:gpu-users:3001:3001:/bin/bash:symlink\n");
    }

    public void Dispose() => Directory.Delete(_root, true);

    private string P(string path) => _root + path;

    private AicaServices Services() => new(new GlobalOptions(Root: _root), clock: new FixedClock()) { Version = "0.1.0" };

    private void Node(string host, TimeSpan age, long? generation = 12, string version = "0.1.0", List<IdConflict>? conflicts = null, DateTimeOffset? written = null)
    {
        var s = new NodeStatus
        {
            Host = host, Version = version, WrittenAt = written ?? Now - age, GenerationApplied = generation, GenerationSeen = 12, SyncIntervalS = 300,
            LastRecovery = new RecoveryOutcome(Now - age, "ok", 42.5, 1, 0), Doctor = new DoctorSummary(Now - age, 40, 1, 0),
            IdConflicts = conflicts ?? [], Gpus = ["GPU 0: NVIDIA H200"],
        };
        Raw(host + ".json", NodeStatusJson.Write(s), age);
    }

    private void Raw(string name, byte[] bytes, TimeSpan age)
    {
        File.WriteAllBytes(P($"/data/admin/nodes/{name}"), bytes);
        File.SetLastWriteTimeUtc(P($"/data/admin/nodes/{name}"), (Now - age).UtcDateTime);
    }

    private void Fixtures()
    {
        Node("node1", TimeSpan.FromMinutes(2));
        Node("node2", TimeSpan.FromMinutes(16)); // > 3 intervals of 5 min
        Node("node3", TimeSpan.FromMinutes(1), generation: 11);
        Node("node4", TimeSpan.FromMinutes(1), conflicts: [new IdConflict("alice", "uid", 3001, null, "uid 3001 of alice is taken by local account svc")]);
        Node("node5", TimeSpan.FromMinutes(1), version: "0.0.9");
        Node("node6", TimeSpan.FromMinutes(1), written: Now + TimeSpan.FromMinutes(30)); // its clock is 31 min ahead
        Raw("node7.json", "{\"schema\": 1, \"host\": \"node7\", \"vers"u8.ToArray(), TimeSpan.FromMinutes(1)); // torn
        Raw("node8.json", "{\"schema\": 2, \"host\": \"node8\"}"u8.ToArray(), TimeSpan.FromMinutes(1)); // a newer aica's shape
        Raw(".node1.json.aica-1-1.tmp", "{"u8.ToArray(), TimeSpan.Zero); // a writer's temp file: not a node
    }

    [Fact]
    public void Stale_behind_conflicting_skewed_clock_ahead_torn_and_foreign_nodes_are_each_flagged_and_a_good_one_is_not()
    {
        Fixtures();
        using var s = Services();
        var r = new FleetService(s).Status();
        Assert.Equal(12, r.RegistryGeneration);
        var by = r.Nodes.ToDictionary(n => n.Host);
        Assert.Equal(["node1", "node2", "node3", "node4", "node5", "node6", "node7.json", "node8.json"], by.Keys.Order());
        Assert.True(by["node1"].Ok, string.Join("; ", by["node1"].Flags));
        Assert.True(by["node2"].Stale);
        Assert.Contains(by["node2"].Flags, f => f.StartsWith("stale: not written for 16min"));
        Assert.True(by["node3"].OtherGeneration);
        Assert.Contains("on generation 11, the registry is at 12", by["node3"].Flags);
        Assert.Contains("id conflict: uid 3001 of alice is taken by local account svc", by["node4"].Flags);
        Assert.True(by["node5"].VersionSkew);
        Assert.Contains("runs aica 0.0.9, this is 0.1.0", by["node5"].Flags);
        Assert.Contains(by["node6"].Flags, f => f.StartsWith("clock ahead of the file server's by 31min"));
        Assert.Contains(by["node7.json"].Flags, f => f.StartsWith("unreadable: not valid JSON"));
        Assert.Contains(by["node8.json"].Flags, f => f.StartsWith("unreadable: schema 2"));
        foreach (var n in new[] { "node2", "node3", "node4", "node5", "node6" }) Assert.Single(by[n].Flags);
        Assert.Equal(7, r.Problems);
        Assert.Equal(ExitCodes.Failed, r.ExitCode);
    }

    [Fact]
    public void Doctor_warns_when_another_node_reports_a_conflict_for_a_user_and_passes_otherwise()
    {
        using var s = Services();
        var fleet = new FleetService(s);
        Node("node1", TimeSpan.FromMinutes(1));
        Assert.Equal(Aica.Engine.CheckStatus.Pass, fleet.OtherNodesConflicts(null).Status);
        Node("node4", TimeSpan.FromMinutes(1), conflicts: [new IdConflict("alice", "uid", 3001, null, "uid 3001 of alice is taken by local account svc")]);
        var c = fleet.OtherNodesConflicts(null);
        Assert.Equal(Aica.Engine.CheckStatus.Warn, c.Status);
        Assert.Contains("alice", c.Summary);
        Assert.Contains("node4: uid 3001 of alice is taken by local account svc", c.Details);
        Assert.Equal(Aica.Engine.CheckStatus.Pass, fleet.OtherNodesConflicts("bob").Status);
        // This node's own file is not "another node": its conflicts are its own doctor's checks.
        File.Move(P("/data/admin/nodes/node4.json"), P($"/data/admin/nodes/{NodeStatusStore.FileName(Native.Sys.HostName())}"));
        Assert.Equal(Aica.Engine.CheckStatus.Pass, fleet.OtherNodesConflicts(null).Status);
    }

    [Fact]
    public void A_node_file_round_trips_in_snake_case()
    {
        Node("node1", TimeSpan.FromMinutes(1), conflicts: [new IdConflict("alice", "uid", 3001, 3009, "x")]);
        var text = File.ReadAllText(P("/data/admin/nodes/node1.json"));
        foreach (var key in new[] { "\"schema\": 1", "\"generation_applied\": 12", "\"written_at\"", "\"last_recovery\"", "\"duration_ms\": 42.5", "\"id_conflicts\"", "\"sync_interval_s\": 300", "\"gpus\"" })
            Assert.Contains(key, text);
        var back = NodeStatusJson.Read(File.ReadAllBytes(P("/data/admin/nodes/node1.json"))).Status!;
        Assert.Equal(3009, back.IdConflicts.Single().Actual);
        Assert.Equal("GPU 0: NVIDIA H200", back.Gpus.Single());
    }
}

/// <summary>The command: table and --json over the same fixtures, from the binary.</summary>
[Trait("level", "blackbox")]
public sealed class FleetStatusCommandSpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("aica-fleetcli-").FullName;

    public void Dispose() => Directory.Delete(_root, true);

    [Fact]
    public void Fleet_status_prints_a_table_and_json_and_exits_1_when_a_node_needs_a_look()
    {
        Directory.CreateDirectory(_root + "/data/admin/nodes");
        Directory.CreateDirectory(_root + "/data/config");
        File.WriteAllText(_root + "/data/config/users.txt", "# generation 3\n");
        var version = Tools.Aica("--version").StdOut.Trim().Split(' ')[1];
        var now = DateTimeOffset.UtcNow;
        File.WriteAllBytes(_root + "/data/admin/nodes/gpu1.json", NodeStatusJson.Write(new NodeStatus
            { Host = "gpu1", Version = version, WrittenAt = now, GenerationApplied = 3, SyncIntervalS = 300, LastRecovery = new RecoveryOutcome(now, "ok", 80, 0, 0) }));
        var ok = Tools.Aica("--root", _root, "fleet", "status");
        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Matches(@"gpu1\s+\S+\s+3\s+ok ", ok.StdOut);
        Assert.Contains("fleet: 1 node(s), registry generation 3, 0 need a look", ok.StdOut);

        File.WriteAllBytes(_root + "/data/admin/nodes/gpu2.json", NodeStatusJson.Write(new NodeStatus
            { Host = "gpu2", Version = version, WrittenAt = now, GenerationApplied = 2, SyncIntervalS = 300 }));
        var json = Tools.Aica("--root", _root, "fleet", "status", "--json");
        Assert.Equal(1, json.ExitCode);
        var doc = JsonDocument.Parse(json.StdOut).RootElement;
        Assert.Equal(3, doc.GetProperty("registry_generation").GetInt64());
        var gpu2 = doc.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("host").GetString() == "gpu2");
        Assert.True(gpu2.GetProperty("other_generation").GetBoolean());
        Assert.False(gpu2.GetProperty("ok").GetBoolean());
        Assert.Contains("on generation 2, the registry is at 3", gpu2.GetProperty("problems")[0].GetString());
    }
}
