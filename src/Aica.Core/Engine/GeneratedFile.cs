namespace Aica.Engine;

/// <summary>
/// A file the executable generates about itself (the man page, the shell completions): root:root 0644 at
/// <paramref name="Path"/>, checked under <paramref name="Id"/>. Derived state like the /etc files. Installed only where
/// <paramref name="Requires"/> is a directory: the program that reads the file is there (no completion for a
/// bash-completion that is not installed).
/// </summary>
public sealed record GeneratedFile(string Path, string Content, string Id, string Requires);
