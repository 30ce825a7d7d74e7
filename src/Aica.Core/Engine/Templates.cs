using System.Reflection;
using Aica.Config;

namespace Aica.Engine;

/// <summary>The /etc files aica generates, from the templates in shims/ (embedded) and the config.</summary>
public static class Templates
{
    public const string ProfilePath = "/etc/profile.d/aica.sh";
    public const string CondarcPath = "/etc/conda/.condarc";
    public const string SudoersPath = "/etc/sudoers.d/aica";
    public const string UnitPath = "/etc/systemd/system/aica-recovery.service";
    public const string CronPath = "/etc/cron.d/aica";
    public const string UnitName = "aica-recovery.service";

    /// <summary>The exact <c>clean</c> forms a member may run through sudo (defined with the clean rules they grant).</summary>
    public static IReadOnlyList<string> MemberCleanForms => Caches.Caller.MemberForms;

    public static string Raw(string name)
    {
        using var s = typeof(Templates).Assembly.GetManifestResourceStream("shims/" + name)
            ?? throw new InvalidOperationException($"template {name} not embedded");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    private static string Bin(string text, AicaConfig c) => c.InstallPath == "/data/bin/aica" ? text : text.Replace("/data/bin/aica", c.InstallPath);

    public static string Profile(AicaConfig c) => Raw("profile.sh.in")
        .Replace("@CONDA_PKGS@", c.CondaPkgs).Replace("@TORCH_HOME@", c.TorchHome).Replace("@HF_HUB@", c.HfHub)
        .Replace("@HF_DATASETS@", c.HfDatasets).Replace("@COMFYUI@", c.ComfyUi).Replace("@FLUX@", c.Flux)
        .Replace("@MODELS@", c.ModelsDir).Replace("@CONDA_ROOT@", c.CondaRoot).Replace("@GROUP@", c.Group);

    public static string Condarc(AicaConfig c) => Raw("condarc.in").Replace("@CONDA_PKGS@", c.CondaPkgs);

    public static string Unit(AicaConfig c) => Bin(Raw("aica-recovery.service"), c);

    public static string Cron(AicaConfig c) => Bin(Raw("aica.cron"), c);

    public static IEnumerable<string> MemberCommands(AicaConfig c)
    {
        foreach (var t in MemberCleanForms)
        {
            yield return $"{c.InstallPath} clean {t}";
            yield return $"{c.InstallPath} clean {t} --dry-run";
        }
        yield return $"{c.InstallPath} disk";
        yield return $"{c.InstallPath} disk --json";
    }

    public static string Sudoers(AicaConfig c) => Raw("sudoers.in")
        .Replace("@GROUP@", c.Group)
        .Replace("@CMDS@", string.Join(", \\\n    ", MemberCommands(c)));
}
