using System.Text;

namespace Aica.Config;

/// <summary>/data/config/aica.toml. Every key has the default of SPEC §3–§4; unknown keys are errors.</summary>
public sealed record AicaConfig
{
    public const string ConfigPath = "/data/config/aica.toml";
    public const string RegistryPath = "/data/config/users.txt";

    public string Group { get; init; } = "gpu-users";
    /// <summary>The shared group's gid; recorded by init so a full reset recreates it identically.</summary>
    public int? Gid { get; init; }
    public string DefaultLayout { get; init; } = "symlink";
    public string DefaultShell { get; init; } = "/bin/bash";
    public string[] Dotfiles { get; init; } = [".bashrc", ".profile", ".zshrc", ".condarc", ".gitconfig", ".vimrc", ".tmux.conf", ".ssh"];
    public string InstallPath { get; init; } = "/data/bin/aica";
    public string CondaRoot { get; init; } = "/data/apps/miniconda3";
    public string BackupDir { get; init; } = "/data/admin/backups";
    public string CondaPkgs { get; init; } = "/data/cache/conda/pkgs";
    public string TorchHome { get; init; } = "/data/models/torch";
    public string HfHub { get; init; } = "/data/models/huggingface/hub";
    public string HfDatasets { get; init; } = "/data/models/huggingface/datasets";
    public string ComfyUi { get; init; } = "/data/models/comfyui";
    public string Flux { get; init; } = "/data/models/flux";
    public string[] DiskWatch { get; init; } = ["/data", "/backup"];
    public int DiskThreshold { get; init; } = 90;
    public string Datasets { get; init; } = "/data/dataset";
    public string Code { get; init; } = "/data/code";
    public string DatasetOwner { get; init; } = "root";
    public string[] LegacyMirrors { get; init; } = [];
    public bool MirrorDelete { get; init; }

    public string ReportsDir => "/data/admin/reports";
    public string LogDir => "/data/admin/log";
    public string ModelsDir => "/data/models";

    /// <summary>Shared caches that members write (root:G 2775).</summary>
    public IReadOnlyList<(string Id, string Path)> SharedCaches =>
    [
        ("conda", CondaPkgs), ("torch", TorchHome), ("hf.hub", HfHub), ("hf.datasets", HfDatasets), ("comfyui", ComfyUi), ("flux", Flux),
    ];

    /// <summary>Every tree members share, with its root's mode (SPEC §3): the caches 2775, datasets and code 3775 (sticky).</summary>
    public IReadOnlyList<(string Path, uint Mode)> SharedRoots =>
        [.. SharedCaches.Select(x => (x.Path, Native.Perms.O(2775))), (Datasets, Native.Perms.O(3775)), (Code, Native.Perms.O(3775))];

    public static AicaConfig Parse(string text)
    {
        var t = TomlLite.Parse(text);
        var c = new AicaConfig();
        foreach (var (table, keys) in t)
        {
            foreach (var (key, v) in keys)
            {
                var full = table.Length == 0 ? key : $"{table}.{key}";
                c = full switch
                {
                    "group.name" => c with { Group = v.AsString(full) },
                    "group.gid" => c with { Gid = (int)v.AsInt(full) },
                    "users.default_layout" => c with { DefaultLayout = v.AsString(full) },
                    "users.shell" => c with { DefaultShell = v.AsString(full) },
                    "users.dotfiles" => c with { Dotfiles = v.AsStrings(full) },
                    "paths.install" => c with { InstallPath = v.AsString(full) },
                    "paths.conda_root" => c with { CondaRoot = v.AsString(full) },
                    "paths.backups" => c with { BackupDir = v.AsString(full) },
                    "caches.conda_pkgs" => c with { CondaPkgs = v.AsString(full) },
                    "caches.torch" => c with { TorchHome = v.AsString(full) },
                    "caches.hf_hub" => c with { HfHub = v.AsString(full) },
                    "caches.hf_datasets" => c with { HfDatasets = v.AsString(full) },
                    "caches.comfyui" => c with { ComfyUi = v.AsString(full) },
                    "caches.flux" => c with { Flux = v.AsString(full) },
                    "disk.watch" => c with { DiskWatch = v.AsStrings(full) },
                    "disk.threshold" => c with { DiskThreshold = (int)v.AsInt(full) },
                    "data.datasets" => c with { Datasets = v.AsString(full) },
                    "data.code" => c with { Code = v.AsString(full) },
                    "data.dataset_owner" => c with { DatasetOwner = v.AsString(full) },
                    "data.legacy_mirrors" => c with { LegacyMirrors = v.AsStrings(full) },
                    "data.mirror_delete" => c with { MirrorDelete = v.AsBool(full) },
                    _ => throw new TomlError(v.Line, $"unknown key '{full}'"),
                };
            }
        }
        return c.Validated(t);
    }

    private AicaConfig Validated(Dictionary<string, Dictionary<string, TomlValue>> t)
    {
        int Line(string table, string key) => t.TryGetValue(table, out var k) && k.TryGetValue(key, out var v) ? v.Line : 0;
        if (Names.ValidateGroup(Group) is { } ge) throw new TomlError(Line("group", "name"), ge);
        if (Gid is { } g && (g < 1 || g > 60000)) throw new TomlError(Line("group", "gid"), $"group.gid {g} out of range 1–60000");
        if (DefaultLayout is not ("symlink" or "hybrid")) throw new TomlError(Line("users", "default_layout"), "users.default_layout must be symlink or hybrid");
        if (DiskThreshold is < 1 or > 99) throw new TomlError(Line("disk", "threshold"), "disk.threshold must be 1–99");
        foreach (var (table, key, path) in new[]
                 {
                     ("paths", "install", InstallPath), ("paths", "conda_root", CondaRoot), ("paths", "backups", BackupDir),
                     ("caches", "conda_pkgs", CondaPkgs), ("caches", "torch", TorchHome), ("caches", "hf_hub", HfHub),
                     ("caches", "hf_datasets", HfDatasets), ("caches", "comfyui", ComfyUi), ("caches", "flux", Flux),
                     ("data", "datasets", Datasets), ("data", "code", Code),
                 })
        {
            if (!Names.IsCleanDataPath(path)) throw new TomlError(Line(table, key), $"{table}.{key} must be a normalised absolute path under /data");
        }
        foreach (var d in Dotfiles)
            if (d.Contains('/') || !d.StartsWith('.') || d is "." or "..") throw new TomlError(Line("users", "dotfiles"), $"bad dotfile name '{d}'");
        return this;
    }

    /// <summary>The file as init writes it: every key, with its value.</summary>
    public string Render()
    {
        static string Q(string s) => TomlLite.Quote(s);
        var sb = new StringBuilder();
        sb.AppendLine("# aica configuration. Keys left out take their defaults; unknown keys are an error.");
        sb.AppendLine("[group]");
        sb.AppendLine($"name = {Q(Group)}");
        if (Gid is { } g) sb.AppendLine($"gid = {g}");
        sb.AppendLine();
        sb.AppendLine("[users]");
        sb.AppendLine($"default_layout = {Q(DefaultLayout)}");
        sb.AppendLine($"shell = {Q(DefaultShell)}");
        sb.AppendLine($"dotfiles = {TomlLite.Array(Dotfiles)}");
        sb.AppendLine();
        sb.AppendLine("[paths]");
        sb.AppendLine($"install = {Q(InstallPath)}");
        sb.AppendLine($"conda_root = {Q(CondaRoot)}");
        sb.AppendLine($"backups = {Q(BackupDir)}");
        sb.AppendLine();
        sb.AppendLine("[caches]");
        sb.AppendLine($"conda_pkgs = {Q(CondaPkgs)}");
        sb.AppendLine($"torch = {Q(TorchHome)}");
        sb.AppendLine($"hf_hub = {Q(HfHub)}");
        sb.AppendLine($"hf_datasets = {Q(HfDatasets)}");
        sb.AppendLine($"comfyui = {Q(ComfyUi)}");
        sb.AppendLine($"flux = {Q(Flux)}");
        sb.AppendLine();
        sb.AppendLine("[disk]");
        sb.AppendLine($"watch = {TomlLite.Array(DiskWatch)}");
        sb.AppendLine($"threshold = {DiskThreshold}");
        sb.AppendLine();
        sb.AppendLine("[data]");
        sb.AppendLine($"datasets = {Q(Datasets)}");
        sb.AppendLine($"code = {Q(Code)}");
        sb.AppendLine($"dataset_owner = {Q(DatasetOwner)}");
        sb.AppendLine($"legacy_mirrors = {TomlLite.Array(LegacyMirrors)}");
        sb.AppendLine($"mirror_delete = {(MirrorDelete ? "true" : "false")}");
        return sb.ToString();
    }
}
