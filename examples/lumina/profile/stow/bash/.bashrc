# ~/.bashrc from a GNU Stow-style package: the package's tree mirrors $HOME.
[ -f ~/.bash_aliases ] && . ~/.bash_aliases
