using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class UserCommands(CliContext cli)
{
    private readonly CliContext _cli = cli;

    /// <summary>user add: placeholder until the users (issue 3) work lands.</summary>
    [Command("user add")]
    public int Add([Argument] string user) => throw new AicaException("aica user add: not implemented yet", ExitCodes.Failed);

    /// <summary>user remove: placeholder until the users (issue 3) work lands.</summary>
    [Command("user remove")]
    public int Remove([Argument] string user) => throw new AicaException("aica user remove: not implemented yet", ExitCodes.Failed);

    /// <summary>user list: placeholder until the users (issue 3) work lands.</summary>
    [Command("user list")]
    public int List() => throw new AicaException("aica user list: not implemented yet", ExitCodes.Failed);

    /// <summary>user fix: placeholder until the users (issue 3) work lands.</summary>
    [Command("user fix")]
    public int Fix([Argument] string user) => throw new AicaException("aica user fix: not implemented yet", ExitCodes.Failed);

    /// <summary>user migrate: placeholder until the users (issue 3) work lands.</summary>
    [Command("user migrate")]
    public int Migrate([Argument] string user) => throw new AicaException("aica user migrate: not implemented yet", ExitCodes.Failed);
}
