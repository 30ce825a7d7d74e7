using System.Diagnostics;

namespace Aica.Cli.Menu;

/// <summary>
/// Long menu output through a pager, as git and systemctl do: $PAGER (run by sh), else less -FRX (quit when it fits,
/// keep colour, leave the text on the screen), else nothing (the caller prints). Only on a terminal.
/// </summary>
public static class Pager
{
    /// <summary>The command line of the pager, or null when there is none.</summary>
    public static string? Command()
    {
        if (Environment.GetEnvironmentVariable("PAGER") is { Length: > 0 } pager) return pager.Trim() is "cat" or "" ? null : pager;
        return new[] { "/usr/bin/less", "/bin/less" }.FirstOrDefault(File.Exists) is { } less ? $"{less} -FRX" : null;
    }

    /// <summary>Shows <paramref name="text"/> through the pager; false when there is none or it could not start.</summary>
    public static bool Run(string text)
    {
        if (!Native.Sys.IsTerminal(1) || Command() is not { } command) return false;
        try
        {
            using var p = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardInput = true, UseShellExecute = false });
            if (p is null) return false;
            try { p.StandardInput.Write(text + "\n"); p.StandardInput.Close(); }
            catch (IOException) { } // the reader quit before reading all (q in less): what it showed is enough
            p.WaitForExit();
            return true;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }
}
