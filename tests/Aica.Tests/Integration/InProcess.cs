using Aica.Cli;
using Aica.Site;

namespace Aica.Tests.Integration;

/// <summary>Runs aica in-process against a --root tree (tests using it belong to the "cli" collection).</summary>
internal static class InProcess
{
    public static (int Code, string Out, string Err) Aica(string root, params string[] args) => Run(["--root", root, .. args]);

    /// <summary>The command line exactly as given (no --root): usage, help and parse errors.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args) => Run(null, args);

    /// <summary>With the services a test builds (e.g. recover's budgets with a step limit: <c>AicaServices.RecoverBudgets</c>).</summary>
    public static (int Code, string Out, string Err) Run(Func<GlobalOptions, AicaServices>? services, params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = AicaApp.RunAsync(args, o, e, services).GetAwaiter().GetResult();
        return (code, o.ToString(), e.ToString());
    }
}
