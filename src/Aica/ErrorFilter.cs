using Aica.Native;
using ConsoleAppFramework;

namespace Aica.Cli;

/// <summary>Expected failures become one line on stderr and their exit code; parse errors are exit 2 with usage.</summary>
internal sealed class ErrorFilter(ConsoleAppFilter next) : ConsoleAppFilter(next)
{
    public override async Task InvokeAsync(ConsoleAppContext context, CancellationToken cancellationToken)
    {
        var cli = (CliContext)((IServiceProvider)ConsoleApp.ServiceProvider!).GetService(typeof(CliContext))!;
        try
        {
            await Next.InvokeAsync(context, cancellationToken);
        }
        catch (AicaException e)
        {
            cli.Err.WriteLine($"aica {context.CommandName}: {e.Message}");
            Environment.ExitCode = e.ExitCode;
        }
        catch (ArgumentParseFailedException e)
        {
            cli.Err.WriteLine($"aica {context.CommandName}: {e.Message}");
            cli.ParseFailedCommand = context.CommandName;
            Environment.ExitCode = ExitCodes.Usage;
        }
        catch (SysException e)
        {
            cli.Err.WriteLine($"aica {context.CommandName}: {e.Message}");
            Environment.ExitCode = ExitCodes.Failed;
        }
        catch (OperationCanceledException)
        {
            cli.Err.WriteLine($"aica {context.CommandName}: interrupted");
            Environment.ExitCode = ExitCodes.Interrupted;
        }
    }
}
