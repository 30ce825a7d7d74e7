using Aica.Cli;

namespace Aica.Tests.Integration;

/// <summary>Runs aica in-process against a --root tree (tests using it belong to the "cli" collection).</summary>
internal static class InProcess
{
    public static (int Code, string Out, string Err) Aica(string root, params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = AicaApp.RunAsync(["--root", root, .. args], o, e, null).GetAwaiter().GetResult();
        return (code, o.ToString(), e.ToString());
    }
}
