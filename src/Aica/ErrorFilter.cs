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
            // The framework's token is cancelled only by SIGINT/SIGTERM/SIGQUIT. Returning would let it dispose its
            // signal handler while the runtime's signal thread still calls CancelAfter on it: an unhandled
            // ObjectDisposedException, exit 134, about one run in five. Exiting here leaves nothing disposed.
            if (cancellationToken.IsCancellationRequested)
            {
                cli.Out.Flush();
                cli.Err.Flush();
                Environment.Exit(ExitCodes.Interrupted);
            }
        }
    }
}
