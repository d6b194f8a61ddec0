package web

import (
	"mime"
	"net/http"

	"mailgate/internal/webmail"
)

func contentDisposition(name string) string {
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": name}); v != "" {
		return v
	}
	return "attachment"
}

// mailAct applies an action to the messages ticked in the list (uid
// repeated) or to the message shown: action is read, unread, flag,
// unflag, move (to the folder in "to"), delete, spam or notspam. Then
// back to the page the form came from, or to the list when the message
// left the folder.
func (s *Server) mailAct(w http.ResponseWriter, r *http.Request) {
	mb := s.mailbox(w, r)
	if mb == nil {
		return
	}
	folder := folderParam(r)
	uids := webmail.ParseSelection(r.PostForm["uid"])
	back := safeMailBack(r.PostFormValue("back"), listURL(folder, webmail.Query{Sort: webmail.ByDate}, 1))
	list := safeMailBack(r.PostFormValue("list"), listURL(folder, webmail.Query{Sort: webmail.ByDate}, 1))
	if len(uids) == 0 {
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	var err error
	gone := true // the messages left this folder: the message page is no more
	switch a := r.PostFormValue("action"); a {
	case webmail.MarkRead, webmail.MarkUnread, webmail.MarkFlagged, webmail.MarkUnflag:
		err, gone = mb.Mark(folder, uids, a), false
	case "move":
		_, err = mb.Move(folder, r.PostFormValue("to"), uids)
	case "delete":
		err = mb.Delete(folder, uids)
	case "spam":
		err = mb.Spam(folder, uids)
	case "notspam":
		err = mb.NotSpam(folder, uids)
	default:
		err = webmail.ErrBadAction
	}
	if err != nil {
		s.mailErr(w, r, err)
		return
	}
	if gone {
		back = list
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// mailEmpty empties Trash or Junk.
func (s *Server) mailEmpty(w http.ResponseWriter, r *http.Request) {
	mb := s.mailbox(w, r)
	if mb == nil {
		return
	}
	folder := folderParam(r)
	if err := mb.Empty(folder); err != nil {
		s.mailErr(w, r, err)
		return
	}
	http.Redirect(w, r, listURL(folder, webmail.Query{Sort: webmail.ByDate}, 1), http.StatusSeeOther)
}

// mailFolders is the folder management page.
func (s *Server) mailFolders(w http.ResponseWriter, r *http.Request) {
	mb := s.mailbox(w, r)
	if mb == nil {
		return
	}
	v := &mailView{Folder: folderParam(r)}
	var err error
	if v.Folders, err = mb.Folders(); err != nil {
		s.mailErr(w, r, err)
		return
	}
	v.Quota = s.subscriberQuota(r)
	s.render(w, r, http.StatusOK, "mail_folders", v)
}

// mailFolderAct creates (name), renames (name to "to") or deletes (name)
// a folder, with the IMAP server's name rules.
func (s *Server) mailFolderAct(w http.ResponseWriter, r *http.Request) {
	mb := s.mailbox(w, r)
	if mb == nil {
		return
	}
	name := r.PostFormValue("name")
	var err error
	switch r.PostFormValue("op") {
	case "create":
		err = mb.CreateFolder(name)
	case "rename":
		err = mb.RenameFolder(name, r.PostFormValue("to"))
	case "delete":
		err = mb.DeleteFolder(name)
	default:
		err = webmail.ErrBadAction
	}
	if err != nil {
		s.mailErr(w, r, err)
		return
	}
	http.Redirect(w, r, "/mail/folders", http.StatusSeeOther)
}
