using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class DataCommands(CliContext cli)
{
    private readonly CliContext _cli = cli;

    /// <summary>data list: placeholder until the data (issue 5) work lands.</summary>
    [Command("data list")]
    public int List() => throw new AicaException("aica data list: not implemented yet", ExitCodes.Failed);

    /// <summary>data fix: placeholder until the data (issue 5) work lands.</summary>
    [Command("data fix")]
    public int Fix() => throw new AicaException("aica data fix: not implemented yet", ExitCodes.Failed);

    /// <summary>data orphans: placeholder until the data (issue 5) work lands.</summary>
    [Command("data orphans")]
    public int Orphans() => throw new AicaException("aica data orphans: not implemented yet", ExitCodes.Failed);

    /// <summary>data mirror: placeholder until the data (issue 5) work lands.</summary>
    [Command("data mirror")]
    public int Mirror() => throw new AicaException("aica data mirror: not implemented yet", ExitCodes.Failed);

    /// <summary>data verify: placeholder until the data (issue 5) work lands.</summary>
    [Command("data verify")]
    public int Verify() => throw new AicaException("aica data verify: not implemented yet", ExitCodes.Failed);

    /// <summary>data report: placeholder until the data (issue 5) work lands.</summary>
    [Command("data report")]
    public int Report() => throw new AicaException("aica data report: not implemented yet", ExitCodes.Failed);
}
