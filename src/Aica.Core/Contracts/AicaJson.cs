using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Aica.Contracts;

/// <summary>
/// Every JSON document aica writes (--json on stdout, the recovery status file, the data report, the node status files
/// on /data/admin/nodes, the du snapshot), as records serialised by System.Text.Json's source generator: snake_case
/// names, no reflection (NativeAOT). A new shape is a record in this folder plus one [JsonSerializable] line here;
/// docs/json.md and the snapshot tests describe the --json ones.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(ErrorDoc))]
[JsonSerializable(typeof(InitDoc))]
[JsonSerializable(typeof(InitImageDoc))]
[JsonSerializable(typeof(RecoverDoc))]
[JsonSerializable(typeof(RecoveryStatusDoc))]
[JsonSerializable(typeof(DoctorDoc))]
[JsonSerializable(typeof(UserAddDoc))]
[JsonSerializable(typeof(UserRemoveDoc))]
[JsonSerializable(typeof(UserListDoc))]
[JsonSerializable(typeof(UserFixDoc))]
[JsonSerializable(typeof(UserMigrateDoc))]
[JsonSerializable(typeof(PermsDoc))]
[JsonSerializable(typeof(DatasetsDoc))]
[JsonSerializable(typeof(OrphansDoc))]
[JsonSerializable(typeof(MirrorsDoc))]
[JsonSerializable(typeof(AccessDoc))]
[JsonSerializable(typeof(DataReportDoc))]
[JsonSerializable(typeof(DataReportFileDoc))]
[JsonSerializable(typeof(CleanDoc))]
[JsonSerializable(typeof(DiskDoc))]
[JsonSerializable(typeof(DuDoc))]
[JsonSerializable(typeof(DuSnapshotDoc))]
[JsonSerializable(typeof(InstallDoc))]
[JsonSerializable(typeof(AdoptDoc))]
[JsonSerializable(typeof(EnvDoc))]
[JsonSerializable(typeof(ConfigCheckDoc))]
[JsonSerializable(typeof(AccountsCaptureDoc))]
[JsonSerializable(typeof(MetricsDoc))]
[JsonSerializable(typeof(MetricsTextfileDoc))]
[JsonSerializable(typeof(NotifyDoc))]
[JsonSerializable(typeof(GeneratedTextDoc))]
[JsonSerializable(typeof(SyncDoc))]
[JsonSerializable(typeof(FleetStatusDoc))]
[JsonSerializable(typeof(HealthDoc))]
[JsonSerializable(typeof(NodeStatus))]
public sealed partial class AicaJsonContext : JsonSerializerContext;

/// <summary>Writes one document: indented, non-ASCII and HTML characters as they are (paths and names stay readable).</summary>
public static class AicaJson
{
    private static readonly JsonWriterOptions Writer = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The document as UTF-8 bytes, without a trailing newline.</summary>
    public static byte[] ToUtf8<T>(T value, JsonTypeInfo<T> type)
    {
        using var ms = new MemoryStream();
        using (var j = new Utf8JsonWriter(ms, Writer)) JsonSerializer.Serialize(j, value, type);
        return ms.ToArray();
    }

    /// <summary>The document as a file's content: UTF-8 and a final newline.</summary>
    public static byte[] ToFile<T>(T value, JsonTypeInfo<T> type) => [.. ToUtf8(value, type), (byte)'\n'];

    public static string ToText<T>(T value, JsonTypeInfo<T> type) => Encoding.UTF8.GetString(ToUtf8(value, type));

    /// <summary>The one document of a run on <paramref name="w"/>, one line after it.</summary>
    public static void Write<T>(TextWriter w, T value, JsonTypeInfo<T> type) => w.WriteLine(ToText(value, type));

    public static JsonTypeInfo<ErrorDoc> Error => AicaJsonContext.Default.ErrorDoc;
}

/// <summary>The one document of every failed --json run.</summary>
public sealed record ErrorDoc(string Error, int ExitCode);
