using System.Text.Json;
using Aica.Contracts;

namespace Aica.Fleet;

/// <summary>/data/admin/nodes/HOST.json (<see cref="NodeStatus"/>) as bytes, and back with the schema checked first.</summary>
public static class NodeStatusJson
{
    public static byte[] Write(NodeStatus s) => AicaJson.ToFile(s, AicaJsonContext.Default.NodeStatus);

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
            var s = JsonSerializer.Deserialize(bytes, AicaJsonContext.Default.NodeStatus);
            if (s is null || s.Host.Length == 0) return (null, "no host name");
            return (s, null);
        }
        catch (JsonException e) { return (null, $"not valid JSON ({e.Message.Split('.')[0]}): torn or edited"); }
    }
}
