using System.Text;

namespace Aica.Config;

/// <summary>/data/config/aica.toml as aica uses it. Every key has the default of SPEC §3–§4; read and edited by <see cref="ConfigFile"/>.</summary>
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
    /// <summary>fleet.sync_interval: seconds between two runs of the sync timer on each node (issue 14).</summary>
    public int SyncIntervalSeconds { get; init; } = 300;

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

    /// <summary>Strict read of aica.toml text (see <see cref="ConfigFile"/>): <see cref="ConfigError"/> names every bad line.</summary>
    public static AicaConfig Parse(string text) => ConfigFile.Parse(text);

    /// <summary>The file as init writes it: every key, with its value.</summary>
    public string Render()
    {
        static string Q(string s) => ConfigFile.Quote(s);
        var sb = new StringBuilder();
        sb.AppendLine("# aica configuration. Keys left out take their defaults; check your edits with: aica config check");
        sb.AppendLine("[group]");
        sb.AppendLine($"name = {Q(Group)}");
        if (Gid is { } g) sb.AppendLine($"gid = {g}");
        sb.AppendLine();
        sb.AppendLine("[users]");
        sb.AppendLine($"default_layout = {Q(DefaultLayout)}");
        sb.AppendLine($"shell = {Q(DefaultShell)}");
        sb.AppendLine($"dotfiles = {ConfigFile.Literal(Dotfiles)}");
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
        sb.AppendLine($"watch = {ConfigFile.Literal(DiskWatch)}");
        sb.AppendLine($"threshold = {DiskThreshold}");
        sb.AppendLine();
        sb.AppendLine("[data]");
        sb.AppendLine($"datasets = {Q(Datasets)}");
        sb.AppendLine($"code = {Q(Code)}");
        sb.AppendLine($"dataset_owner = {Q(DatasetOwner)}");
        sb.AppendLine($"legacy_mirrors = {ConfigFile.Literal(LegacyMirrors)}");
        sb.AppendLine($"mirror_delete = {(MirrorDelete ? "true" : "false")}");
        sb.AppendLine();
        sb.AppendLine("[fleet]");
        sb.AppendLine($"sync_interval = {SyncIntervalSeconds}");
        return sb.ToString();
    }
}
