using System.Reflection;
using Aica.Config;

namespace Aica.Site;

/// <summary>The /etc files aica generates, from the templates in shims/ (embedded) and the config.</summary>
public static class Templates
{
    public const string ProfilePath = "/etc/profile.d/aica.sh";
    public const string CondarcPath = "/etc/conda/.condarc";
    public const string SudoersPath = "/etc/sudoers.d/aica";
    public const string UnitPath = "/etc/systemd/system/aica-recovery.service";
    public const string CronPath = "/etc/cron.d/aica";
    /// <summary>Rotation of every log aica writes (/var/log and /data/admin/log).</summary>
    public const string LogrotatePath = "/etc/logrotate.d/aica";
    public const string UnitName = "aica-recovery.service";
    /// <summary>The link that enables the unit (what <c>systemctl enable</c> makes; <c>init --image</c> writes it itself).</summary>
    public const string UnitWantsPath = "/etc/systemd/system/multi-user.target.wants/aica-recovery.service";
    /// <summary>The unit whose ExecStop captures the account state at shutdown, whatever recovery's result (issue 11).</summary>
    public const string CaptureUnitName = "aica-capture.service";
    public const string CapturePath = "/etc/systemd/system/" + CaptureUnitName;
    public const string CaptureWantsPath = "/etc/systemd/system/multi-user.target.wants/" + CaptureUnitName;
    /// <summary>aica on the PATH of root and members (Debian's default PATH and sudo's secure_path hold /usr/local/bin).</summary>
    public const string PathLink = "/usr/local/bin/aica";
    /// <summary>Debian's pam-auth-update profiles; the profile's name is what <c>pam-auth-update --enable</c> takes.</summary>
    public const string PamConfigsDir = "/usr/share/pam-configs";
    public const string PamProfileName = "aica";
    public const string PamProfilePath = PamConfigsDir + "/" + PamProfileName;
    /// <summary>The PAM session stacks pam-auth-update writes: interactive (ssh, su, login) and non-interactive (cron, systemd --user).</summary>
    public static readonly string[] PamSessionFiles = ["/etc/pam.d/common-session", "/etc/pam.d/common-session-noninteractive"];
    public const string PamEnvPath = "/etc/security/aica_env.conf";

    /// <summary>
    /// The exact <c>clean</c> forms a member may run through sudo (the one list: the sudoers drop-in is generated from
    /// it, each also with --dry-run; <c>aica clean</c> allows members these targets): their own per-user caches and the
    /// shared caches whose clean keeps everything in use (HF garbage; conda's unused packages, removed by aica's own
    /// link-safe sweep, never by conda as root). Emptying torch/ComfyUI/Flux, --all, --older-than, --user, --root and
    /// paths are admin-only (aica refuses them for members too).
    /// </summary>
    public static readonly string[] MemberCleanForms = ["--pip", "--uv", "--npm", "--pip --uv --npm", "--hf", "--conda"];

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

    /// <summary>The pam-auth-update profile: pam_env with aica's variables for everyone, pam_umask 002 for members only.</summary>
    public static string PamProfile(AicaConfig c) => Raw("pam-config.in").Replace("@GROUP@", c.Group).Replace("@ENV_CONF@", PamEnvPath);

    /// <summary>The profile's session lines, as pam-auth-update copies them into the common-session files.</summary>
    public static IReadOnlyList<string> PamSessionLines(AicaConfig c)
    {
        var lines = new List<string>();
        var inSession = false;
        foreach (var l in PamProfile(c).Split('\n'))
        {
            if (l.StartsWith("Session:", StringComparison.Ordinal)) { inSession = true; continue; }
            if (!inSession) continue;
            if (l.Length == 0 || !char.IsWhiteSpace(l[0])) break;
            lines.Add("session " + l.Trim());
        }
        return lines;
    }

    /// <summary>pam_env.conf syntax: values quoted, <c>$</c> and <c>@</c> (pam_env's expansions) escaped.</summary>
    public static string PamEnv(AicaConfig c)
    {
        static string V(string v) => "\"" + v.Replace("$", "\\$").Replace("@", "\\@") + "\"";
        return Raw("pam_env.conf.in").Replace("@ENV_CONF@", PamEnvPath)
            .Replace("@CONDA_PKGS@", V(c.CondaPkgs)).Replace("@TORCH_HOME@", V(c.TorchHome)).Replace("@HF_HUB@", V(c.HfHub))
            .Replace("@HF_DATASETS@", V(c.HfDatasets)).Replace("@COMFYUI@", V(c.ComfyUi)).Replace("@FLUX@", V(c.Flux))
            .Replace("@MODELS@", V(c.ModelsDir));
    }

    public static string Condarc(AicaConfig c) => Raw("condarc.in").Replace("@CONDA_PKGS@", c.CondaPkgs);

    public static string Unit(AicaConfig c) => Bin(Raw("aica-recovery.service"), c).Replace("@SANDBOX@\n", UnitSandbox.Recovery(c).Render());

    public static string Capture(AicaConfig c) => Bin(Raw("aica-capture.service"), c).Replace("@SANDBOX@\n", UnitSandbox.Maintenance(c, homes: false).Render());

    /// <summary>The cron file: its header, then one line per row of <see cref="ScheduledJobs"/>.</summary>
    public static string Cron(AicaConfig c) => Raw("aica.cron").Replace("@JOBS@\n", ScheduledJobs.CronLines(c));

    public static string Logrotate() => Raw("aica.logrotate");

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
