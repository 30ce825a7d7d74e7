using System.Text.Json.Serialization;
using Tomlyn.Serialization;

namespace Aica.Config;

// The file as TOML sees it: every key optional (absent keys take the defaults of AicaConfig). Read through the
// source-generated context below; names are the snake_case keys of SPEC §3–§4.
public sealed class AicaTomlFile
{
    public GroupTable? Group { get; set; }
    public UsersTable? Users { get; set; }
    public PathsTable? Paths { get; set; }
    public CachesTable? Caches { get; set; }
    public DiskTable? Disk { get; set; }
    public DataTable? Data { get; set; }
    public FleetTable? Fleet { get; set; }
}

public sealed class GroupTable { public string? Name { get; set; } public long? Gid { get; set; } }
public sealed class UsersTable { public string? DefaultLayout { get; set; } public string? Shell { get; set; } public string[]? Dotfiles { get; set; } }
public sealed class PathsTable { public string? Install { get; set; } public string? CondaRoot { get; set; } public string? Backups { get; set; } }

public sealed class CachesTable
{
    public string? CondaPkgs { get; set; }
    public string? Torch { get; set; }
    public string? HfHub { get; set; }
    public string? HfDatasets { get; set; }
    public string? Comfyui { get; set; }
    public string? Flux { get; set; }
}

public sealed class DiskTable { public string[]? Watch { get; set; } public double? Threshold { get; set; } }

public sealed class FleetTable { public long? SyncInterval { get; set; } }

public sealed class DataTable
{
    public string? Datasets { get; set; }
    public string? Code { get; set; }
    public string? DatasetOwner { get; set; }
    public string[]? LegacyMirrors { get; set; }
    public bool? MirrorDelete { get; set; }
}

[TomlSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[TomlSerializable(typeof(AicaTomlFile))]
internal partial class AicaTomlContext : TomlSerializerContext;
