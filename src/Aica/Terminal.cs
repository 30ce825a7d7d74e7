using System.Text;
using Aica.Native;

namespace Aica.Cli;

/// <summary>
/// The process's stdout and stderr as plain writers over descriptors 1 and 2. <c>Console.Out</c> would start .NET's
/// terminal layer, which puts the terminal into keypad-transmit mode (<c>ESC[?1h ESC=</c>) and never takes it out
/// again; only the menu and the y/N prompts read keys through <see cref="Console"/>, and they restore the mode.
/// </summary>
public static class Terminal
{
    public static readonly TextWriter Out = Open(1);
    public static readonly TextWriter Err = Open(2, JournalPriorities.StderrIsJournal(Environment.GetEnvironmentVariable("JOURNAL_STREAM")));

    private static TextWriter Open(int fd, bool journal = false)
    {
        Stream stream = new FdStream(fd);
        if (journal) stream = new JournalPriorities.PrefixStream(stream);
        return TextWriter.Synchronized(new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true });
    }

    /// <summary>
    /// write(2) on a descriptor, nothing more: a FileStream would pwrite at its own offset (overwriting a file that
    /// stdout was appended to) and Console's stream starts the terminal layer. A closed pipe (EPIPE) drops the output.
    /// </summary>
    private sealed class FdStream(int fd) : WriteOnlyStream
    {
        private readonly SafeFd _fd = new(fd); // held by a static writer for the life of the process: never closed
        private bool _broken;

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_broken) return;
            try { Sys.WriteAll(_fd, buffer, fd == 1 ? "stdout" : "stderr"); }
            catch (SysException e) when (e.Errno == 32) { _broken = true; } // EPIPE: the reader went away
        }

        public override void Flush() { }
    }

    /// <summary>Colour on this descriptor: a terminal, no NO_COLOR, and a TERM that is set and not "dumb".</summary>
    public static bool Colour(int fd) => Sys.IsTerminal(fd) && ColourAllowed;

    /// <summary>NO_COLOR (https://no-color.org) unset or empty, and TERM set and not "dumb".</summary>
    public static bool ColourAllowed =>
        string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"))
        && Environment.GetEnvironmentVariable("TERM") is { Length: > 0 } term && term != "dumb";

    private static int _consoleInput;

    /// <summary>Call before reading keys or lines through <see cref="Console"/>: the keypad mode it sets is reset at exit.</summary>
    public static void UsingConsoleInput()
    {
        if (Interlocked.Exchange(ref _consoleInput, 1) == 0) AppDomain.CurrentDomain.ProcessExit += (_, _) => RestoreModes();
    }

    /// <summary>Keypad back to normal (rmkx) when the console layer was started on a terminal.</summary>
    public static void RestoreModes()
    {
        if (Interlocked.Exchange(ref _consoleInput, 0) == 0) return; // once: Program and ProcessExit both call it
        foreach (var fd in new[] { 1, 2 })
        {
            if (!Sys.IsTerminal(fd) || Environment.GetEnvironmentVariable("TERM") is null or "" or "dumb") continue;
            (fd == 1 ? Out : Err).Write("\e[?1l\e>");
            return;
        }
    }
}
