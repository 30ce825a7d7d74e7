namespace Aica.Engine;

/// <summary>
/// A file the executable generates about itself (the man page, the shell completions): root:root 0644 at
/// <paramref name="Path"/>, checked under <paramref name="Id"/>. Derived state like the /etc files. Installed only where
/// <paramref name="Requires"/> is a directory: the program that reads the file is there (no completion for a
/// bash-completion that is not installed).
/// </summary>
/// <param name="Render">Its content, rendered only when the file must be read or written.</param>
/// <param name="Key">
/// Stands for the content without rendering it (<see cref="VerifiedFiles"/>): the identity of the executable that
/// renders it, so a file found current and unchanged since is not rendered again while the same binary runs.
/// </param>
public sealed record GeneratedFile(string Path, Func<string> Render, ulong Key, string Id, string Requires);
