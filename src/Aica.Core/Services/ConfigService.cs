using Aica.Config;
using Aica.IO;
using Aica.Site;

namespace Aica.Services;

/// <summary>What <c>aica config check</c> found in one file.</summary>
public sealed record ConfigCheckResult(string File, bool Exists, IReadOnlyList<ConfigIssue> Issues)
{
    public bool Valid => Exists && Issues.Count == 0;
}

/// <summary>aica config check [FILE] (like sshd -t): the same reader recover uses, every problem with its line.</summary>
public sealed class ConfigService(AicaServices s)
{
    /// <param name="file">A file to check (a host path, as an admin types it), or null for the installed aica.toml.</param>
    public ConfigCheckResult Check(string? file)
    {
        string? text;
        string shown;
        try
        {
            if (file is null)
            {
                shown = s.Fs.Host(AicaConfig.ConfigPath);
                text = s.Fs.ReadText(AicaConfig.ConfigPath);
            }
            else
            {
                // A draft anywhere on the host, read without following a link on its path.
                shown = Path.GetFullPath(file);
                using var host = new RootedFs("/");
                text = host.ReadText(shown);
            }
        }
        catch (Native.SysException e) { throw AicaException.Usage($"cannot read {file ?? s.Fs.Host(AicaConfig.ConfigPath)}: {e.Message}"); }
        return text is null ? new ConfigCheckResult(shown, false, []) : new ConfigCheckResult(shown, true, ConfigFile.Read(text).Issues);
    }
}
