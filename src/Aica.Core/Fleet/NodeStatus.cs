using System.Text.Json;
using System.Text.Json.Serialization;

namespace Aica.Fleet;

/// <summary>
/// /data/admin/nodes/HOST.json: what one node last did, written by it (atomically) after recover, sync and doctor, read
/// by <c>aica fleet status</c> and by doctor on the other nodes. Snake_case keys; <see cref="Schema"/> says which shape.
/// </summary>
public sealed record NodeStatus
{
    /// <summary>The shape of this file; a reader ignores (reports) files of another schema rather than guess.</summary>
    public const int CurrentSchema = 1;

    public int Schema { get; init; } = CurrentSchema;
    public string Host { get; init; } = "";
    public string Version { get; init; } = "";
    /// <summary>When the node wrote this, by its own clock (UTC).</summary>
    public DateTimeOffset WrittenAt { get; init; }
    /// <summary>The registry generation the node applied without a failure last; null before its first good run.</summary>
    public long? GenerationApplied { get; init; }
    /// <summary>The registry generation the node saw at its last recover (applied or not).</summary>
    public long? GenerationSeen { get; init; }
    /// <summary>The node's sync interval (fleet.sync_interval, seconds): a node is stale after three of them.</summary>
    public int SyncIntervalS { get; init; }
    public RecoveryOutcome? LastRecovery { get; init; }
    public DoctorSummary? Doctor { get; init; }
    /// <summary>Registered users whose ids this node cannot give them (capped list).</summary>
    public List<IdConflict> IdConflicts { get; init; } = [];
    public List<string> Gpus { get; init; } = [];
}

public sealed record RecoveryOutcome(DateTimeOffset Time, string Status, double DurationMs, int Users, int Failed);

public sealed record DoctorSummary(DateTimeOffset Time, int Pass, int Warn, int Fail);

/// <param name="Kind">uid | gid | group</param>
/// <param name="Registered">The id the registry records.</param>
/// <param name="Actual">The id the node has for that name, or the id's holder's id (null: no account of that name).</param>
/// <param name="Detail">One line: what is in the way.</param>
public sealed record IdConflict(string User, string Kind, int Registered, int? Actual, string Detail);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(NodeStatus))]
public sealed partial class FleetJson : JsonSerializerContext;

public static class NodeStatusJson
{
    public static byte[] Write(NodeStatus s)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(s, FleetJson.Default.NodeStatus);
        return [.. bytes, (byte)'\n'];
    }

    /// <summary>The status, or why it cannot be trusted (torn, not JSON, another schema, no host).</summary>
    public static (NodeStatus? Status, string? Problem) Read(ReadOnlySpan<byte> bytes)
    {
        try
        {
            // The schema first, from the raw document: a future shape is reported as such, not half-read.
            using (var doc = JsonDocument.Parse(bytes.ToArray()))
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object) return (null, "not a JSON object");
                if (!doc.RootElement.TryGetProperty("schema", out var sc) || !sc.TryGetInt32(out var schema)) return (null, "no schema number");
                if (schema != NodeStatus.CurrentSchema) return (null, $"schema {schema}, this aica reads {NodeStatus.CurrentSchema} (another version wrote it)");
            }
            var s = JsonSerializer.Deserialize(bytes, FleetJson.Default.NodeStatus);
            if (s is null || s.Host.Length == 0) return (null, "no host name");
            return (s, null);
        }
        catch (JsonException e) { return (null, $"not valid JSON ({e.Message.Split('.')[0]}): torn or edited"); }
    }
}
